package sim

import (
	"errors"
	"time"

	"github.com/diego-go/diego/src/rep/container/host"
)

// Config configures the sim backend. Zero fields take the defaults of
// DefaultConfig when passed through WithDefaults (New does this).
type Config struct {
	// The host settings shared with the process and runc backends; capacity
	// is never detected (a simulated cell has no machine of its own), the
	// port range is only bookkeeping (nothing listens unless ListenPorts or a
	// "listen" program) and default_path is the shell's PATH.
	host.Settings
	// StartDelay is how long after Run a process counts as started: Healthy
	// waits for it, which is what the rep's health checks see.
	StartDelay host.Duration `json:"start_delay"`
	// ListenPorts makes every simulated app accept on its container's host
	// ports (greeting "hello PORT"), for health checks that dial them. It
	// costs a socket and a goroutine per port; off by default.
	ListenPorts bool `json:"listen_ports"`
	// CrashExitStatus is the exit status of processes Crash ends (default 1).
	CrashExitStatus int `json:"crash_exit_status"`
}

// Defaults.
const (
	DefaultStartDelay      = 100 * time.Millisecond
	DefaultMemoryMB        = 32 * 1024
	DefaultDiskMB          = 64 * 1024
	DefaultMaxContainers   = 250
	DefaultStopGracePeriod = 10 * time.Second
	DefaultCrashExitStatus = 1
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Settings: host.Settings{
			HostIP:          "127.0.0.1",
			PortRangeStart:  61000,
			PortRangeEnd:    65000,
			StopGracePeriod: host.Duration(DefaultStopGracePeriod),
			MemoryMB:        DefaultMemoryMB,
			DiskMB:          DefaultDiskMB,
			MaxContainers:   DefaultMaxContainers,
			DefaultPath:     "/usr/local/bin:/usr/bin:/bin",
		},
		StartDelay:      host.Duration(DefaultStartDelay),
		CrashExitStatus: DefaultCrashExitStatus,
	}
}

// WithDefaults fills every zero field from DefaultConfig (a negative
// StartDelay, kept, means none).
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	c.Settings = c.Settings.WithDefaults(d.Settings)
	if c.MemoryMB == 0 {
		c.MemoryMB = d.MemoryMB
	}
	if c.DiskMB == 0 {
		c.DiskMB = d.DiskMB
	}
	if c.StartDelay == 0 {
		c.StartDelay = d.StartDelay
	}
	if c.CrashExitStatus == 0 {
		c.CrashExitStatus = d.CrashExitStatus
	}
	return c
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	errs := c.Settings.Validate()
	if c.CrashExitStatus < 1 || c.CrashExitStatus > 255 {
		errs = append(errs, errors.New("crash_exit_status must be within 1-255"))
	}
	return errors.Join(errs...)
}
