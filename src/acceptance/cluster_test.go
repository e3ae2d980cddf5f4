package acceptance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// cluster is a `diego up` the suite started: ACCEPTANCE_DB (default: its
// SQLite), ACCEPTANCE_BACKEND (default process), ACCEPTANCE_PORT_BASE
// (default 19889, clear of `make run`'s 8889), ACCEPTANCE_CELLS (default 3).
type cluster struct {
	dir        string
	targetFile string
	logFile    string
	bin        string
	portBase   int
	cells      int
	cmd        *exec.Cmd
	exited     chan struct{}
	waitErr    error
	stopping   atomic.Bool
	// tagged is the extra rep carrying taggedCellTag (see addTaggedCell).
	tagged *exec.Cmd
	// logs is the Loggregator ingress server its reps send to (the logs group).
	logs *logsIngress
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// moduleRoot is the directory of go.mod, where `go build ./src/cmd/...`
// runs.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the diego module")
	}
	return filepath.Dir(gomod), nil
}

// goBuild runs `go build args...` in the module root with env added to
// the environment.
func goBuild(env []string, args ...string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	build := exec.Command("go", append([]string{"build"}, args...)...)
	build.Dir = root
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// startCluster builds every command and starts `diego up`, returning once
// its target file exists. On error the returned cluster (if any) still
// needs stop.
func startCluster() (*cluster, error) {
	dir, err := os.MkdirTemp("", "diego-acceptance-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "bin")
	if err := goBuild(nil, "-o", bin+"/", "./src/cmd/..."); err != nil {
		return nil, err
	}
	// diego-sshd runs inside containers (a busybox rootfs on runc): static.
	if err := goBuild([]string{"CGO_ENABLED=0"}, "-o", bin+"/", "./src/cmd/diego-sshd"); err != nil {
		return nil, err
	}
	portBase, err := strconv.Atoi(envOr("ACCEPTANCE_PORT_BASE", "19889"))
	if err != nil {
		return nil, fmt.Errorf("ACCEPTANCE_PORT_BASE: %w", err)
	}
	cells, err := strconv.Atoi(envOr("ACCEPTANCE_CELLS", "3"))
	if err != nil {
		return nil, fmt.Errorf("ACCEPTANCE_CELLS: %w", err)
	}
	c := &cluster{
		bin:        bin,
		portBase:   portBase,
		cells:      cells,
		dir:        filepath.Join(dir, "cluster"),
		targetFile: filepath.Join(dir, "cluster", "target.json"),
		logFile:    filepath.Join(dir, "diego-up.log"),
		exited:     make(chan struct{}),
	}
	args := []string{"up", "--dir", c.dir,
		"--cells", strconv.Itoa(cells),
		"--backend", envOr("ACCEPTANCE_BACKEND", "process"),
		"--port-base", strconv.Itoa(portBase)}
	if db := os.Getenv("ACCEPTANCE_DB"); db != "" {
		args = append(args, "--db", db)
	}
	if c.logs, err = startLogsIngress(filepath.Join(dir, "loggregator")); err != nil {
		return c, err
	}
	args = append(args, c.logs.upFlags()...)
	log, err := os.Create(c.logFile)
	if err != nil {
		return nil, err
	}
	c.cmd = exec.Command(filepath.Join(bin, "diego"), args...)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fmt.Fprintf(os.Stderr, "acceptance: %s %s (output in %s)\n", c.cmd.Path, strings.Join(args, " "), c.logFile)
	if err := c.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting diego up: %w", err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		log.Close()
		close(c.exited)
		if !c.stopping.Load() {
			fmt.Fprintf(os.Stderr, "acceptance: diego up exited while the suite ran (%v); the end of its output:\n%s\n", c.waitErr, c.tail())
		}
	}()

	deadline := time.After(60 * time.Second)
	for {
		if _, err := LoadTarget(c.targetFile); err == nil {
			return c, nil
		}
		select {
		case <-c.exited:
			return c, fmt.Errorf("diego up exited before writing %s: %v\n%s", c.targetFile, c.waitErr, c.tail())
		case <-deadline:
			return c, fmt.Errorf("diego up wrote no %s within 60s; the end of its output:\n%s", c.targetFile, c.tail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail is the end of diego up's output.
func (c *cluster) tail() string {
	b, _ := os.ReadFile(c.logFile)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// stop sends diego up SIGTERM and waits for it (SIGKILL to its process
// group after 30 s). The directory is removed unless the suite failed or
// ACCEPTANCE_KEEP is set.
func (c *cluster) stop(failed bool) {
	c.stopping.Store(true)
	if c.tagged != nil && c.tagged.Process != nil {
		_ = c.tagged.Process.Signal(syscall.SIGTERM)
		waited := make(chan struct{})
		go func() { _ = c.tagged.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(20 * time.Second):
			_ = c.tagged.Process.Kill()
			<-waited
		}
	}
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			fmt.Fprintf(os.Stderr, "acceptance: diego up did not stop within 30s of SIGTERM; killing its process group\n")
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.exited
		}
	}
	c.removeRuncLeftovers()
	if c.logs != nil {
		c.logs.ingress.Stop()
	}
	if failed || os.Getenv("ACCEPTANCE_KEEP") != "" {
		fmt.Fprintf(os.Stderr, "acceptance: cluster kept in %s\n", filepath.Dir(c.dir))
		return
	}
	_ = os.RemoveAll(filepath.Dir(c.dir))
}

// taggedCellTag is the required placement tag of the extra cell.
const taggedCellTag = "acceptance-tagged"

// addTaggedCell starts one more rep beside diego up's, "cell-tagged" in z1,
// requiring the placement tag taggedCellTag: diego up's cells carry no
// placement tags, and the placement group needs one that does. Its config
// is cell-1's with its own id, ports, directories and tag. Untagged LRPs
// never land on it, so it does not disturb the other groups.
func (c *cluster) addTaggedCell() error {
	b, err := os.ReadFile(filepath.Join(c.dir, "config", "rep-cell-1.json"))
	if err != nil {
		return fmt.Errorf("tagged cell: reading cell-1's config: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("tagged cell: %w", err)
	}
	home := filepath.Join(c.dir, "cells", "cell-tagged")
	cfg["cell_id"] = "cell-tagged"
	cfg["zone"] = "z1"
	cfg["placement_tags"] = []string{taggedCellTag}
	// The ports a next cell of diego up's would take (its cells' are
	// PortBase+10+2i and +11+2i; +8 is the hub's).
	cfg["listen_address"] = fmt.Sprintf("127.0.0.1:%d", c.portBase+10+2*c.cells)
	cfg["local_address"] = fmt.Sprintf("127.0.0.1:%d", c.portBase+11+2*c.cells)
	cfg["container_root_dir"] = filepath.Join(home, "containers")
	ports := map[string]any{"port_range_start": 61000 + 1000*c.cells, "port_range_end": 61999 + 1000*c.cells}
	for _, backend := range []string{"process", "runc"} {
		bc, ok := cfg[backend].(map[string]any)
		if !ok {
			continue
		}
		maps.Copy(bc, ports)
		if backend == "runc" {
			bc["state_dir"] = filepath.Join(home, "runc")
			bc["network_cidr"] = fmt.Sprintf("10.%d.0.0/16", 200+c.cells)
			bc["cgroup_parent"] = "diego-up-cell-tagged"
		}
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	path := filepath.Join(home, "rep.json")
	out, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(home, "rep.log"))
	if err != nil {
		return err
	}
	c.tagged = exec.Command(filepath.Join(c.bin, "rep"), "-config", path)
	c.tagged.Stdout, c.tagged.Stderr = log, log
	if err := c.tagged.Start(); err != nil {
		log.Close()
		c.tagged = nil
		return fmt.Errorf("tagged cell: starting the rep: %w", err)
	}
	log.Close()
	return nil
}

// removeRuncLeftovers deletes the runc containers still running under the
// cluster's directory once diego up has stopped: those of the rep rep_kill
// killed, which diego up does not reap on the runc backend. It says what
// it removed, so the gap stays visible.
func (c *cluster) removeRuncLeftovers() {
	roots, _ := filepath.Glob(filepath.Join(c.dir, "cells", "*", "runc", "runc"))
	for _, root := range roots {
		out, err := exec.Command("runc", "--root", root, "list", "-q").Output()
		if err != nil {
			continue
		}
		for _, id := range strings.Fields(string(out)) {
			if err := exec.Command("runc", "--root", root, "delete", "-f", id).Run(); err != nil {
				fmt.Fprintf(os.Stderr, "acceptance: deleting runc container %s left in %s: %v\n", id, root, err)
				continue
			}
			fmt.Fprintf(os.Stderr, "acceptance: deleted runc container %s that diego up left running in %s\n", id, root)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], c.dir+"/") {
			_ = syscall.Unmount(f[1], syscall.MNT_DETACH)
		}
	}
}
