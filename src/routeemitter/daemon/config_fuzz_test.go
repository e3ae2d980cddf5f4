package daemon

import (
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
			c.BBSAddress, c.LocketAddress, c.NATSAddresses = "https://bbs.service.cf.internal:8889", "locket.service.cf.internal:8891", "nats-1:4222,nats-2:4222"
			return []Config{c}
		},
	})
}
