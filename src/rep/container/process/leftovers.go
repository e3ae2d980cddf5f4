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

	"github.com/diego-go/diego/src/rep/container/proc"
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

// RecordedGroups returns the process groups recorded for the containers
// under root, live or not: what a backend started after a crash of the rep
// would look for.
func RecordedGroups(root string) []int {
	files, _ := filepath.Glob(filepath.Join(root, "c-*.pgids"))
	var pgids []int
	for _, f := range files {
		pgids = append(pgids, readPgids(f)...)
	}
	return pgids
}

// groupWorksIn reports whether a process of group pgid has its working
// directory inside dir.
func groupWorksIn(pgid int, dir string) bool {
	for _, pid := range proc.PIDs() {
		if st, ok := proc.ReadStat(pid); !ok || st.PGRP != pgid {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			return true
		}
	}
	return false
}
