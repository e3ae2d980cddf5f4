package daemon

import (
	"os"
	"testing"

	"github.com/diego-go/diego/src/internal/jsonconfig/configfuzz"
	"github.com/diego-go/diego/src/pki"
)

// FuzzConfig: the config file through Load (configfuzz: errors name the
// file, Load agrees with Parse and Validate, accepted configs round-trip).
func FuzzConfig(f *testing.F) {
	configfuzz.Fuzz(f, configfuzz.Format[Config]{
		Parse: Parse, Load: Load, Validate: Config.Validate,
		Valid: func(b *pki.Bundle, dir string) []Config {
			c := configfuzz.WithFiles(DefaultConfig(), b)
			key, err := os.ReadFile(b.ServerKey)
			if err != nil {
				f.Fatal(err)
			}
			c.HostKey, c.BBSAddress = string(key), "https://bbs.service.cf.internal:8889"
			c.BBSCACert, c.BBSClientCert, c.BBSClientKey = b.CACert, b.ServerCert, b.ServerKey
			c.EnableDiegoAuth, c.DiegoCredentials = true, "secret"
			return []Config{c}
		},
	})
}
