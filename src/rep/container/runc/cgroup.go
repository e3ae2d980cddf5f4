package runc

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupRoot is where the cgroup v1 hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupsOf maps each v1 controller of pid onto its cgroup dir on the host.
func cgroupsOf(pid int) (map[string]string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			out[ctrl] = filepath.Join(cgroupRoot, ctrl, parts[2])
		}
	}
	for _, need := range []string{"memory", "pids", "cpu", "cpuacct"} {
		if _, ok := out[need]; !ok {
			return nil, errors.New("the cgroup v1 " + need + " controller is not mounted under " + cgroupRoot)
		}
	}
	return out, nil
}

// cgroupPids lists cgroup.procs of dir.
func cgroupPids(dir string) []int {
	raw, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(raw)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// readUint reads a file holding one number (0 when unreadable).
func readUint(dir, name string) uint64 {
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	return v
}

// oomKills is "oom_kill" of memory.oom_control (kernel 4.13+).
func oomKills(memDir string) uint64 {
	raw, err := os.ReadFile(filepath.Join(memDir, "memory.oom_control"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// procStat is what the backend reads from /proc/PID/stat.
type procStat struct {
	ppid   int
	zombie bool
	start  string // starttime, in clock ticks since boot
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(b, ')') // the command may hold spaces and ')'
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0]=state f[1]=ppid ... f[19]=starttime
	if len(f) < 20 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(string(f[1]))
	return procStat{ppid: ppid, zombie: f[0][0] == 'Z' || f[0][0] == 'X', start: string(f[19])}, true
}

// dirSize is the apparent size of the regular files under dir.
func dirSize(dir string) uint64 {
	var n uint64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += uint64(fi.Size())
			}
		}
		return nil
	})
	return n
}
