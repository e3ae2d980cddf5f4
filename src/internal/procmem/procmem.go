// Package procmem reads a Linux process's resident memory from /proc, for
// the benchmarks that report what a component costs.
package procmem

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Read returns pid's resident set size now (VmRSS) and its peak (VmHWM),
// in KiB.
func Read(pid int) (rssKB, peakKB int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading memory of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rssKB = v
		case "VmHWM:":
			peakKB = v
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading memory of pid %d: %w", pid, err)
	}
	return rssKB, peakKB, nil
}
