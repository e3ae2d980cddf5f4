package chaos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Descendants lists the pids of pid's descendants (children, their
// children, …), from /proc.
func Descendants(pid int) []int {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		text := string(b)
		end := strings.LastIndexByte(text, ')')
		if end < 0 {
			continue
		}
		fields := strings.Fields(text[end+1:])
		if len(fields) < 2 {
			continue
		}
		p, err1 := strconv.Atoi(strings.Fields(text)[0])
		pp, err2 := strconv.Atoi(fields[1])
		if err1 == nil && err2 == nil {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// Freeze sends SIGSTOP to pid and, with tree, to all its descendants (a
// cell's rep and its containers' processes: the whole cell stops, as a
// VM paused by its hypervisor). The returned function sends them SIGCONT.
func Freeze(pid int, tree bool) (resume func() error, err error) {
	if pid <= 0 {
		return nil, fmt.Errorf("freeze: no such process (pid %d)", pid)
	}
	pids := []int{pid}
	if tree {
		pids = append(pids, Descendants(pid)...)
	}
	var stopped []int
	for _, p := range pids {
		if err := syscall.Kill(p, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
			for _, s := range stopped {
				_ = syscall.Kill(s, syscall.SIGCONT)
			}
			return nil, fmt.Errorf("SIGSTOP %d: %w", p, err)
		}
		stopped = append(stopped, p)
	}
	return func() error {
		var errs []error
		for _, p := range stopped {
			if err := syscall.Kill(p, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("SIGCONT %d: %w", p, err))
			}
		}
		return errors.Join(errs...)
	}, nil
}

// Kill9 sends SIGKILL to pid.
func Kill9(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("kill -9: no such process (pid %d)", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 %d: %w", pid, err)
	}
	return nil
}
