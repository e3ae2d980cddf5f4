package daemon

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/rep/container/garden"
	"github.com/diego-go/diego/src/rep/container/process"
	"github.com/diego-go/diego/src/rep/container/runc"
	"github.com/diego-go/diego/src/rep/container/sim"
)

// Container backends.
const (
	BackendProcess = "process"
	BackendRunc    = "runc"
	BackendGarden  = "garden"
	// BackendSim runs nothing: containers are bookkeeping (simulated cells,
	// docs/sim-cells.md).
	BackendSim = "sim"
)

// DefaultStopTimeout bounds the graceful stop on SIGTERM/SIGINT.
const DefaultStopTimeout = 30 * time.Second

// Config is the rep configuration file: the cell's Settings (their fields
// at the top level) plus the container backend.
//
// The top-level container_root_dir, host_ip, memory_mb, disk_mb,
// max_containers and the preloaded names of rootfs_providers fill the
// selected backend's section where that section leaves them empty; for
// garden, whose capacity comes from the Garden server, non-zero top-level
// capacity fields override what the server reports. Only the selected
// backend's section is read: a section for another backend is an error, so
// a config that looks like it configures runc never silently runs processes.
type Config struct {
	Settings

	// Backend is "process" (default: no root, processes in directories),
	// "runc" (root, see docs/runc-backend.md), "garden" (a garden-runc
	// server) or "sim" (simulated containers, see docs/sim-cells.md).
	Backend string          `json:"backend"`
	Process *process.Config `json:"process,omitempty"`
	Runc    *runc.Config    `json:"runc,omitempty"`
	Garden  *garden.Config  `json:"garden,omitempty"`
	Sim     *sim.Config     `json:"sim,omitempty"`

	// StopTimeout bounds the graceful stop (instances stopped and removed
	// from the BBS, presence released) on SIGTERM/SIGINT or after an evacuation.
	StopTimeout Duration `json:"stop_timeout"`
	LogLevel    string   `json:"log_level"`
}

// DefaultBBSMaxIdleConnsPerHost is bbs_max_idle_conns_per_host when unset
// (the reference's 0 leaves Go's 2).
const DefaultBBSMaxIdleConnsPerHost = 32

// DefaultConfig returns the config file's defaults; the cell's own defaults
// (Settings.WithDefaults) are applied when it starts.
func DefaultConfig() Config {
	return Config{Backend: BackendProcess, StopTimeout: Duration(DefaultStopTimeout), LogLevel: "info"}
}

// ParseConfig reads JSON over the defaults; unknown fields are errors.
// Empty Locket client files take the BBS client's.
func ParseConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	if err := jsonconfig.Decode(r, &c); err != nil {
		return c, err
	}
	for _, f := range [][2]*string{
		{&c.LocketCAFile, &c.BBSCAFile},
		{&c.LocketClientCertFile, &c.BBSClientCertFile},
		{&c.LocketClientKeyFile, &c.BBSClientKeyFile},
	} {
		if *f[0] == "" {
			*f[0] = *f[1]
		}
	}
	return c, nil
}

// Load reads, defaults and validates the file at path.
func Load(path string) (Config, error) {
	return jsonconfig.LoadFile(path, ParseConfig, Config.Validate)
}

// Level is the configured log level (for the command runner).
func (c Config) Level() string { return c.LogLevel }

// Validate reports every problem at once, each naming its field.
func (c Config) Validate() error {
	var errs []error
	if err := c.settings().WithDefaults().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.BBSMaxIdleConnsPerHost < 0 || c.BBSClientSessionCacheSize < 0 {
		errs = append(errs, fmt.Errorf("bbs_max_idle_conns_per_host (%d) and bbs_client_session_cache_size (%d) must not be negative", c.BBSMaxIdleConnsPerHost, c.BBSClientSessionCacheSize))
	}
	if c.LocketAddress == "" {
		errs = append(errs, errors.New("locket_address is required (the cell's presence is held in Locket)"))
	} else if _, err := bbsaddr.HostPorts("locket_address", c.LocketAddress); err != nil {
		errs = append(errs, err)
	}
	for _, f := range [][2]string{
		{"ca_file", c.CAFile}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile},
		{"bbs_ca_file", c.BBSCAFile}, {"bbs_client_cert_file", c.BBSClientCertFile}, {"bbs_client_key_file", c.BBSClientKeyFile},
		{"locket_ca_file", c.LocketCAFile}, {"locket_client_cert_file", c.LocketClientCertFile}, {"locket_client_key_file", c.LocketClientKeyFile},
	} {
		if f[1] == "" {
			continue // the required ones are reported above
		}
		if _, err := os.Stat(f[1]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f[0], err))
		}
	}
	errs = append(errs, c.checkContainerEnvFiles()...)
	if c.StopTimeout <= 0 {
		errs = append(errs, fmt.Errorf("stop_timeout %s must be positive", time.Duration(c.StopTimeout)))
	}
	if _, err := jsonconfig.Level(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateBackend()...)
	return errors.Join(errs...)
}

func (c Config) validateBackend() []error {
	var errs []error
	switch c.Backend {
	case BackendProcess, BackendRunc, BackendGarden, BackendSim:
	default:
		return []error{fmt.Errorf("backend %q must be process, runc, garden or sim", c.Backend)}
	}
	for _, s := range []struct {
		name  string
		given bool
	}{{BackendProcess, c.Process != nil}, {BackendRunc, c.Runc != nil}, {BackendGarden, c.Garden != nil}, {BackendSim, c.Sim != nil}} {
		if s.given && s.name != c.Backend {
			errs = append(errs, fmt.Errorf("%s section given but backend is %s (remove it or set \"backend\": %q)", s.name, c.Backend, s.name))
		}
	}
	var err error
	switch c.Backend {
	case BackendProcess:
		err = c.processConfig().WithDefaults().Validate()
	case BackendRunc:
		rc := c.runcConfig().WithDefaults()
		err = errors.Join(rc.Validate(), c.checkRootFSes("rootfses", func(name string) bool { _, ok := rc.RootFSes[name]; return ok }))
	case BackendGarden:
		gc := c.gardenConfig().WithDefaults()
		err = errors.Join(gc.Validate(), c.checkRootFSes("default_rootfs", func(name string) bool {
			_, ok := gc.DefaultRootFS[name]
			_, ok2 := gc.DefaultRootFS["preloaded:"+name]
			return ok || ok2
		}))
	case BackendSim:
		err = c.simConfig().WithDefaults().Validate()
	}
	if err != nil {
		errs = append(errs, prefixLines(c.Backend+".", err))
	}
	return errs
}

// checkRootFSes reports each preloaded rootfs the cell advertises that the
// backend cannot map to a rootfs.
func (c Config) checkRootFSes(field string, known func(name string) bool) error {
	var errs []error
	for _, name := range c.preloaded() {
		if !known(name) {
			errs = append(errs, fmt.Errorf("%s has no entry for %q, which rootfs_providers advertises as preloaded:%s", field, name, name))
		}
	}
	return errors.Join(errs...)
}

// prefixLines puts prefix before each line of err (a joined error has one
// problem per line).
func prefixLines(prefix string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return errors.New(strings.Join(lines, "\n"))
}

// settings are the cell's settings. The daemon wants a container_root_dir
// even when another backend runs the containers: runc's state_dir stands in,
// and for garden (which keeps nothing locally) a directory never written.
func (c Config) settings() Settings {
	d := c.Settings
	// A backend section's disk_mb is the cell's (automatic only if both are 0).
	switch {
	case d.DiskMB != 0:
	case c.Backend == BackendRunc && c.Runc != nil:
		d.DiskMB = c.Runc.DiskMB
	case (c.Backend == BackendProcess || c.Backend == "") && c.Process != nil:
		d.DiskMB = c.Process.DiskMB
	case c.Backend == BackendSim && c.Sim != nil:
		d.DiskMB = c.Sim.DiskMB
	}
	if d.ContainerRootDir == "" {
		switch {
		case c.Backend == BackendRunc && c.Runc != nil && c.Runc.StateDir != "":
			d.ContainerRootDir = c.Runc.StateDir
		case c.Backend == BackendGarden:
			d.ContainerRootDir = filepath.Join(os.TempDir(), "diego-rep-garden")
		case c.Backend == BackendSim:
			d.ContainerRootDir = filepath.Join(os.TempDir(), "diego-rep-sim")
		}
	}
	return d
}

// preloaded lists the names of the cell's "preloaded:NAME" rootfs providers.
func (c Config) preloaded() []string {
	var names []string
	for _, p := range c.Settings.WithDefaults().RootFSProviders {
		if name, ok := strings.CutPrefix(p, "preloaded:"); ok && name != "" {
			names = append(names, name)
		}
	}
	return names
}

func fill[T comparable](dst *T, v T) {
	var zero T
	if *dst == zero {
		*dst = v
	}
}

// fillCell fills a backend section's empty directory, host IP and capacity
// from the top level.
func (c Config) fillCell(dir, hostIP *string, memoryMB, diskMB *int64, maxContainers *int) {
	fill(dir, c.ContainerRootDir)
	fill(hostIP, c.HostIP)
	fill(memoryMB, c.MemoryMB)
	fill(diskMB, c.DiskMB)
	fill(maxContainers, c.MaxContainers)
}

func (c Config) processConfig() process.Config {
	var p process.Config
	if c.Process != nil {
		p = *c.Process
	}
	c.fillCell(&p.RootDir, &p.HostIP, &p.MemoryMB, &p.DiskMB, &p.MaxContainers)
	if len(p.RootFSes) == 0 {
		p.RootFSes = c.preloaded()
	}
	return p
}

func (c Config) runcConfig() runc.Config {
	var r runc.Config
	if c.Runc != nil {
		r = *c.Runc
	}
	c.fillCell(&r.StateDir, &r.HostIP, &r.MemoryMB, &r.DiskMB, &r.MaxContainers)
	return r
}

func (c Config) gardenConfig() garden.Config {
	var g garden.Config
	if c.Garden != nil {
		g = *c.Garden
	}
	return g
}

// simConfig is the sim section with the top level's host IP and capacity
// where it leaves them empty.
func (c Config) simConfig() sim.Config {
	var s sim.Config
	if c.Sim != nil {
		s = *c.Sim
	}
	var dir string
	c.fillCell(&dir, &s.HostIP, &s.MemoryMB, &s.DiskMB, &s.MaxContainers)
	return s
}
