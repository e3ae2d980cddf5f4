// Package daemon runs the file server from its JSON configuration.
package daemon

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/serve"
)

// Config is the file server's configuration file (the reference's field names).
type Config struct {
	// ServerAddress serves plain HTTP; with HTTPS enabled it only redirects
	// to https_listen_addr (301), as the reference does.
	ServerAddress string `json:"server_address"`
	// StaticDirectory holds the files served under /v1/static/.
	StaticDirectory string `json:"static_directory"`

	HTTPSServerEnabled bool   `json:"https_server_enabled"`
	HTTPSListenAddr    string `json:"https_listen_addr"`
	CertFile           string `json:"cert_file"`
	KeyFile            string `json:"key_file"`

	LogLevel string `json:"log_level"`

	// ServerLimits bound the clients of both listeners (unset fields:
	// DefaultLimits).
	ServerLimits serve.Limits `json:"server_limits"`
}

// DefaultLimits are serve.DefaultLimits without the write timeout: a
// download of a large buildpack or droplet to a slow cell may take long.
var DefaultLimits = func() serve.Limits {
	l := serve.DefaultLimits
	l.WriteTimeout = -1
	return l
}()

// DefaultConfig returns a configuration with every default filled in.
func DefaultConfig() Config {
	return Config{ServerAddress: "0.0.0.0:8080", HTTPSListenAddr: "0.0.0.0:8447", LogLevel: "info"}
}

// ParseConfig reads JSON over the defaults; unknown fields are errors.
func ParseConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	return c, jsonconfig.Decode(r, &c)
}

// Load reads, defaults and validates the file at path.
func Load(path string) (Config, error) {
	return jsonconfig.LoadFile(path, ParseConfig, Config.Validate)
}

// Level is the configured log level.
func (c Config) Level() string { return c.LogLevel }

// Validate reports every problem at once, each saying what to fix.
func (c Config) Validate() error {
	var errs []error
	if err := c.ServerLimits.Validate("server_limits"); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := net.SplitHostPort(c.ServerAddress); err != nil {
		errs = append(errs, fmt.Errorf("server_address %q must be host:port: %w", c.ServerAddress, err))
	}
	switch info, err := os.Stat(c.StaticDirectory); {
	case c.StaticDirectory == "":
		errs = append(errs, errors.New("static_directory is required: the directory of files to serve"))
	case err != nil:
		errs = append(errs, fmt.Errorf("static_directory: %w", err))
	case !info.IsDir():
		errs = append(errs, fmt.Errorf("static_directory %q is not a directory", c.StaticDirectory))
	}
	if c.HTTPSServerEnabled {
		if _, _, err := net.SplitHostPort(c.HTTPSListenAddr); err != nil {
			errs = append(errs, fmt.Errorf("https_listen_addr %q must be host:port (https_server_enabled is true): %w", c.HTTPSListenAddr, err))
		}
		for _, f := range []struct{ name, path string }{{"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
			if f.path == "" {
				errs = append(errs, fmt.Errorf("%s is required when https_server_enabled is true", f.name))
			} else if _, err := os.Stat(f.path); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
			}
		}
	}
	if _, err := jsonconfig.Level(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
