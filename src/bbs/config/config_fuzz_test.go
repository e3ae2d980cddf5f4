package config

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
			c.EncryptionKeys, c.ActiveKeyLabel = map[string]string{"key-2026": "a passphrase of 32 or more characters"}, "key-2026"
			return []Config{c}
		},
	})
}
