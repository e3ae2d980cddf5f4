package process

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/rep/container/host"
)

// Duration is a time.Duration read as "10s" or nanoseconds.
type Duration = jsonconfig.Duration

// Config configures the process backend. Zero fields take the defaults of
// DefaultConfig when passed through WithDefaults (New does this).
type Config struct {
	// RootDir holds one directory per container (its home).
	RootDir string `json:"root_dir"`
	// HostIP is the address mapped ports answer on and what processes see as
	// CF_INSTANCE_IP / CF_INSTANCE_INTERNAL_IP.
	HostIP string `json:"host_ip"`
	// Host ports are allocated from [PortRangeStart, PortRangeEnd].
	PortRangeStart uint32 `json:"port_range_start"`
	PortRangeEnd   uint32 `json:"port_range_end"`
	// StopGracePeriod is how long Stop waits after SIGTERM before SIGKILL.
	StopGracePeriod Duration `json:"stop_grace_period"`
	// MemoryCheckInterval is how often the best-effort memory limit is
	// checked (RSS of the container's processes); negative disables it.
	MemoryCheckInterval Duration `json:"memory_check_interval"`
	// Capacity; 0 = detect (memory from /proc/meminfo, disk from statfs of
	// RootDir) and 250 containers.
	MemoryMB      int64 `json:"memory_mb"`
	DiskMB        int64 `json:"disk_mb"`
	MaxContainers int   `json:"max_containers"`
	// RootFSes, when not empty, are the preloaded rootfs names accepted
	// ("preloaded:NAME" or "NAME"); others fail with ErrRootFSMissing.
	RootFSes []string `json:"rootfses"`
	// DefaultPath is the PATH given to processes whose env has none.
	DefaultPath string `json:"default_path"`
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
		RootDir:             filepath.Join(os.TempDir(), "diego-containers"),
		HostIP:              DefaultHostIP,
		PortRangeStart:      DefaultPortRangeStart,
		PortRangeEnd:        DefaultPortRangeEnd,
		StopGracePeriod:     Duration(DefaultStopGracePeriod),
		MemoryCheckInterval: Duration(DefaultMemoryCheckInterval),
		MaxContainers:       DefaultMaxContainers,
		DefaultPath:         DefaultPATH,
	}
}

// WithDefaults fills every zero field from DefaultConfig.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.RootDir == "" {
		c.RootDir = d.RootDir
	}
	if c.HostIP == "" {
		c.HostIP = d.HostIP
	}
	if c.PortRangeStart == 0 && c.PortRangeEnd == 0 {
		c.PortRangeStart, c.PortRangeEnd = d.PortRangeStart, d.PortRangeEnd
	}
	if c.StopGracePeriod == 0 {
		c.StopGracePeriod = d.StopGracePeriod
	}
	if c.MemoryCheckInterval == 0 {
		c.MemoryCheckInterval = d.MemoryCheckInterval
	}
	if c.MaxContainers == 0 {
		c.MaxContainers = d.MaxContainers
	}
	if c.DefaultPath == "" {
		c.DefaultPath = d.DefaultPath
	}
	return c
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	var errs []error
	if c.RootDir == "" {
		errs = append(errs, errors.New("root_dir is required"))
	} else if !filepath.IsAbs(c.RootDir) {
		errs = append(errs, fmt.Errorf("root_dir %q must be absolute", c.RootDir))
	}
	errs = append(errs, c.host().Validate()...)
	return errors.Join(errs...)
}

// host is the host settings the process and runc backends share.
func (c Config) host() host.Settings {
	return host.Settings{
		HostIP: c.HostIP, PortRangeStart: c.PortRangeStart, PortRangeEnd: c.PortRangeEnd,
		StopGracePeriod: time.Duration(c.StopGracePeriod),
		MemoryMB:        c.MemoryMB, DiskMB: c.DiskMB, MaxContainers: c.MaxContainers,
	}
}
