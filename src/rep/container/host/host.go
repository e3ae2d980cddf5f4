// Package host is what the container backends that run containers on this
// machine (process, runc) share: their capacity, detected from the machine
// where it is not configured, and the checks of their host settings.
package host

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/rep/container"
)

// Duration is a time.Duration read as "10s" or nanoseconds.
type Duration = jsonconfig.Duration

// Settings are the host settings the process and runc backends share: the
// fields their JSON sections have in common (each embeds Settings).
type Settings struct {
	// HostIP is the address mapped ports answer on, reported in Info and to
	// processes as CF_INSTANCE_IP.
	HostIP string `json:"host_ip"`
	// Host ports are allocated from [PortRangeStart, PortRangeEnd].
	PortRangeStart uint32 `json:"port_range_start"`
	PortRangeEnd   uint32 `json:"port_range_end"`
	// StopGracePeriod is how long Stop waits after SIGTERM before SIGKILL.
	StopGracePeriod Duration `json:"stop_grace_period"`
	// Capacity; 0 = detect (memory from /proc/meminfo, disk from statfs of
	// the backend's directory) and the default number of containers.
	MemoryMB      int64 `json:"memory_mb"`
	DiskMB        int64 `json:"disk_mb"`
	MaxContainers int   `json:"max_containers"`
	// DefaultPath is the PATH given to processes whose env has none.
	DefaultPath string `json:"default_path"`
}

// WithDefaults fills every zero field of s from d (the port range only when
// both of its ends are zero).
func (s Settings) WithDefaults(d Settings) Settings {
	if s.HostIP == "" {
		s.HostIP = d.HostIP
	}
	if s.PortRangeStart == 0 && s.PortRangeEnd == 0 {
		s.PortRangeStart, s.PortRangeEnd = d.PortRangeStart, d.PortRangeEnd
	}
	if s.StopGracePeriod == 0 {
		s.StopGracePeriod = d.StopGracePeriod
	}
	if s.MaxContainers == 0 {
		s.MaxContainers = d.MaxContainers
	}
	if s.DefaultPath == "" {
		s.DefaultPath = d.DefaultPath
	}
	return s
}

// Validate reports every invalid host setting, each naming its field.
func (s Settings) Validate() []error {
	var errs []error
	if net.ParseIP(s.HostIP) == nil {
		errs = append(errs, fmt.Errorf("host_ip %q is not an IP address", s.HostIP))
	}
	if s.PortRangeStart == 0 || s.PortRangeEnd > 65535 || s.PortRangeStart > s.PortRangeEnd {
		errs = append(errs, fmt.Errorf("port range %d-%d must be within 1-65535 and start <= end", s.PortRangeStart, s.PortRangeEnd))
	}
	if s.StopGracePeriod < 0 {
		errs = append(errs, errors.New("stop_grace_period must not be negative"))
	}
	if s.MemoryMB < 0 || s.DiskMB < 0 || s.MaxContainers < 0 {
		errs = append(errs, errors.New("memory_mb, disk_mb and max_containers must not be negative"))
	}
	return errs
}

// Dir checks the backend's own directory, given in JSON field field: it is
// required and absolute.
func Dir(field, dir string) error {
	if dir == "" {
		return fmt.Errorf("%s is required", field)
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("%s %q must be absolute", field, dir)
	}
	return nil
}

// Capacity is the configured capacity, a zero memory being the machine's
// (MemTotal) and a zero disk the size of the filesystem holding dir.
func (s Settings) Capacity(dir string) (container.Capacity, error) {
	c := container.Capacity{MemoryMB: s.MemoryMB, DiskMB: s.DiskMB, MaxContainers: s.MaxContainers}
	var err error
	if c.MemoryMB == 0 {
		if c.MemoryMB, err = memoryMB(); err != nil {
			return c, fmt.Errorf("detecting memory (set memory_mb): %w", err)
		}
	}
	if c.DiskMB == 0 {
		if c.DiskMB, err = diskMB(dir); err != nil {
			return c, fmt.Errorf("detecting disk (set disk_mb): %w", err)
		}
	}
	return c, nil
}

// memoryMB reads MemTotal from /proc/meminfo.
func memoryMB() (int64, error) {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("MemTotal not found in /proc/meminfo")
}

// diskMB is the size of the filesystem holding dir.
func diskMB(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Blocks) * int64(st.Bsize) / (1 << 20), nil
}
