package scalebench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/diego-go/diego/src/internal/procmem"
)

// userHZ is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux architecture Go supports).
const userHZ = 100

// ProcSample is what a process costs at one moment.
type ProcSample struct {
	PID          int     `json:"pid"`
	RSSBytes     int64   `json:"rss_bytes"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	CPUSeconds   float64 `json:"cpu_seconds"`
}

// SampleProcess reads pid's resident memory now and at its peak (VmRSS,
// VmHWM) and its CPU time, user plus system, in seconds.
func SampleProcess(pid int) (ProcSample, error) {
	rss, peak, err := procmem.Read(pid)
	if err != nil {
		return ProcSample{}, err
	}
	cpu, err := cpuSeconds(pid)
	if err != nil {
		return ProcSample{}, err
	}
	return ProcSample{PID: pid, RSSBytes: rss << 10, PeakRSSBytes: peak << 10, CPUSeconds: cpu}, nil
}

// SampleSelf samples the current process (where the simulated cells run).
func SampleSelf() (ProcSample, error) { return SampleProcess(os.Getpid()) }

// cpuSeconds reads utime+stime from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading cpu time of pid %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// fields are counted after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("reading cpu time of pid %d: malformed stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After ")": state is field 3, so utime (14) and stime (15) are f[11], f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("reading cpu time of pid %d: short stat", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("reading cpu time of pid %d: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return float64(ut+st) / userHZ, nil
}

// SampleEvery samples each named process every interval until ctx ends,
// recording "<name> rss MB" and "<name> cpu s" series in rec. A process
// that cannot be read (it exited) is skipped for that tick.
func SampleEvery(ctx context.Context, interval time.Duration, pids map[string]int, rec *Recorder) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		now := time.Now()
		for name, pid := range pids {
			s, err := SampleProcess(pid)
			if err != nil {
				continue
			}
			rec.Add(name+" rss MB", now, float64(s.RSSBytes)/(1<<20))
			rec.Add(name+" cpu s", now, s.CPUSeconds)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
