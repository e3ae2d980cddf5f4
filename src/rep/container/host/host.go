// Package host is what the container backends that run containers on this
// machine (process, runc) share: their capacity, detected from the machine
// where it is not configured, and the checks of their host settings.
package host

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/diego-go/diego/src/rep/container"
)

// Settings are the host settings the process and runc backends share.
type Settings struct {
	HostIP                       string
	PortRangeStart, PortRangeEnd uint32
	StopGracePeriod              time.Duration
	MemoryMB, DiskMB             int64
	MaxContainers                int
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
