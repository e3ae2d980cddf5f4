package process

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// pgidFile is where the process groups of the container whose home is dir
// are recorded, beside (not inside) the home, so a backend started after a
// crash of the rep can kill them.
func pgidFile(dir string) string { return dir + ".pgids" }

func recordPgid(dir string, pgid int) error {
	f, err := os.OpenFile(pgidFile(dir), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, werr := fmt.Fprintln(f, pgid)
	return errors.Join(werr, f.Close())
}

// ReapLeftovers does what New does first on root: it kills the processes
// of containers a dead backend left there and removes their homes (for a
// supervisor whose rep died and will not be restarted). It returns how many
// containers it removed. Do not call it on the root of a live backend.
func ReapLeftovers(root string) (int, error) { return reapLeftovers(root) }

// reapLeftovers kills the process groups of containers a previous backend
// on RootDir left behind (the rep was killed) and removes their homes. A
// group is killed only if one of its processes still works inside the
// container's home, so a reused process group id is left alone. It returns
// how many containers it removed.
func reapLeftovers(root string) (int, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return 0, fmt.Errorf("process backend: reading %s: %w", root, err)
	}
	var errs []error
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "c-") || !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, name)
		for _, pgid := range readPgids(pgidFile(dir)) {
			if groupWorksIn(pgid, dir) {
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
			}
		}
		if err := removeAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("removing leftover container %s: %w", dir, err))
			continue
		}
		_ = os.Remove(pgidFile(dir))
		n++
	}
	// pgid files whose home is already gone
	for _, e := range entries {
		if name := e.Name(); strings.HasPrefix(name, "c-") && strings.HasSuffix(name, ".pgids") {
			if _, err := os.Stat(filepath.Join(root, strings.TrimSuffix(name, ".pgids"))); errors.Is(err, os.ErrNotExist) {
				_ = os.Remove(filepath.Join(root, name))
			}
		}
	}
	return n, errors.Join(errs...)
}

func readPgids(path string) []int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil && v > 1 {
			out = append(out, v)
		}
	}
	return out
}

// groupWorksIn reports whether a process of group pgid has its working
// directory inside dir.
func groupWorksIn(pgid int, dir string) bool {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		if g, ok := processGroup(pid); !ok || g != pgid {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", p.Name(), "cwd"))
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			return true
		}
	}
	return false
}

// processGroup reads the process group id from /proc/PID/stat.
func processGroup(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(s[i+1:]) // state ppid pgrp ...
	if len(fields) < 3 {
		return 0, false
	}
	g, err := strconv.Atoi(fields[2])
	return g, err == nil
}
