package process

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/diego-go/diego/src/rep/container/host"
)

// Config configures the process backend. Zero fields take the defaults of
// DefaultConfig when passed through WithDefaults (New does this).
type Config struct {
	// RootDir holds one directory per container (its home).
	RootDir string `json:"root_dir"`
	// The host settings (host_ip, port range, stop_grace_period, capacity,
	// default_path), shared with the runc backend.
	host.Settings
	// MemoryCheckInterval is how often the best-effort memory limit is
	// checked (RSS of the container's processes); negative disables it.
	MemoryCheckInterval host.Duration `json:"memory_check_interval"`
	// RootFSes, when not empty, are the preloaded rootfs names accepted
	// ("preloaded:NAME" or "NAME"); others fail with ErrRootFSMissing.
	RootFSes []string `json:"rootfses"`
}

// Defaults.
const (
	DefaultPortRangeStart      = 61000
	DefaultPortRangeEnd        = 65000
	DefaultMaxContainers       = 250
	DefaultStopGracePeriod     = 10 * time.Second
	DefaultMemoryCheckInterval = time.Second
	DefaultHostIP              = "127.0.0.1"
	DefaultPATH                = "/usr/local/bin:/usr/bin:/bin"
)

// DefaultConfig returns the defaults (capacity is detected in New).
func DefaultConfig() Config {
	return Config{
		RootDir: filepath.Join(os.TempDir(), "diego-containers"),
		Settings: host.Settings{
			HostIP:          DefaultHostIP,
			PortRangeStart:  DefaultPortRangeStart,
			PortRangeEnd:    DefaultPortRangeEnd,
			StopGracePeriod: host.Duration(DefaultStopGracePeriod),
			MaxContainers:   DefaultMaxContainers,
			DefaultPath:     DefaultPATH,
		},
		MemoryCheckInterval: host.Duration(DefaultMemoryCheckInterval),
	}
}

// WithDefaults fills every zero field from DefaultConfig.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.RootDir == "" {
		c.RootDir = d.RootDir
	}
	c.Settings = c.Settings.WithDefaults(d.Settings)
	if c.MemoryCheckInterval == 0 {
		c.MemoryCheckInterval = d.MemoryCheckInterval
	}
	return c
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	return errors.Join(append([]error{host.Dir("root_dir", c.RootDir)}, c.Settings.Validate()...)...)
}
