package daemon

import (
	"testing"

	"github.com/diego-go/diego/src/internal/jsonconfig/configfuzz"
	"github.com/diego-go/diego/src/pki"
)

// FuzzConfig: the config file through Load (configfuzz: errors name the
// file, Load agrees with ParseConfig and Validate, accepted configs round-trip).
func FuzzConfig(f *testing.F) {
	configfuzz.Fuzz(f, configfuzz.Format[Config]{
		Parse: ParseConfig, Load: Load, Validate: Config.Validate,
		Valid: func(b *pki.Bundle, dir string) []Config {
			c := configfuzz.WithFiles(DefaultConfig(), b)
			c.CellID, c.BBSAddress, c.LocketAddress = "cell-1", "https://bbs.service.cf.internal:8889", "locket.service.cf.internal:8891"
			c.ContainerRootDir = dir
			return []Config{c}
		},
	})
}
