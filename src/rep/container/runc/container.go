package runc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/proc"
)

// metaFile is the container's metadata in its bundle dir.
const metaFile = "meta.json"

// meta is what the backend records about a container, enough to take it over
// after a restart.
type meta struct {
	Handle    string                  `json:"handle"`
	ID        string                  `json:"id"`
	Spec      container.Spec          `json:"spec"`
	LowerDir  string                  `json:"lower_dir"`
	Overlay   bool                    `json:"overlay"`
	Disk      bool                    `json:"disk"` // the writable layer is on disk.img (DiskMB)
	Net       netConfig               `json:"net"`
	Subnet    int                     `json:"subnet"`
	Ports     []container.PortMapping `json:"ports"`
	Cgroups   map[string]string       `json:"cgroups"` // controller -> host dir
	InitPid   int                     `json:"init_pid"`
	InitStart string                  `json:"init_start"` // /proc/PID/stat starttime, against pid reuse
	Stopped   bool                    `json:"stopped"`
}

// ioWaitDelay bounds how long Wait waits for a process's output pipes to
// close after it exits (a background child may hold them open).
const ioWaitDelay = time.Second

// Container is one runc container.
type Container struct {
	b   *Backend
	dir string // the bundle
	m   meta   // immutable after Create, but for Stopped (guarded by mu)

	mu         sync.Mutex
	creating   bool
	destroying bool
	stopped    bool
	oomKilled  bool
	procs      map[string]*process // not yet reaped
	proxies    []*proxy
}

var _ container.Container = (*Container)(nil)

func newContainer(b *Backend, m meta, dir string) *Container {
	return &Container{b: b, m: m, dir: dir, procs: map[string]*process{}}
}

// Handle implements container.Container.
func (c *Container) Handle() string { return c.m.Handle }

// ID is the container's runc id.
func (c *Container) ID() string { return c.m.ID }

// RootFSPath is the container's root directory on the host.
func (c *Container) RootFSPath() string { return filepath.Join(c.dir, "rootfs") }

func (c *Container) target(port uint32) string {
	return net.JoinHostPort(c.m.Net.ContainerIP, strconv.Itoa(int(port)))
}

func (c *Container) visible() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.creating && !c.destroying
}

func (c *Container) beginDestroy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creating || c.destroying {
		return false
	}
	c.destroying = true
	return true
}

func (c *Container) abortDestroy() {
	c.mu.Lock()
	c.destroying = false
	c.mu.Unlock()
}

func (c *Container) closeProxies() {
	c.mu.Lock()
	ps := c.proxies
	c.proxies = nil
	c.mu.Unlock()
	for _, p := range ps {
		p.close()
	}
}

func (c *Container) errIfGone() error {
	if !c.visible() {
		return fmt.Errorf("%w: %s", container.ErrNotFound, c.m.Handle)
	}
	return nil
}

// runc runs a runc subcommand against the backend's root.
func (c *Container) runc(ctx context.Context, args ...string) error {
	args = append([]string{"--root", c.b.runcRoot}, args...)
	out, err := exec.CommandContext(ctx, c.b.cfg.RuncPath, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("runc %s: %w: %s", strings.Join(args[2:], " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

var hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

// create makes the bundle, the rootfs, the network and starts init.
func (c *Container) create(ctx context.Context) error {
	if _, err := os.Stat(c.dir); err == nil {
		c.b.log.Warn("removing a leftover bundle", "handle", c.m.Handle, "dir", c.dir)
		if err := c.cleanup(ctx); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(c.dir, "procs"), 0o700); err != nil {
		return err
	}
	// The rootfs (mkfs, mounts) and the network (ip, iptables-restore) are
	// independent: made at the same time.
	netErr := make(chan error, 1)
	go func() {
		err := c.b.setupNetwork(ctx, c.m.Net)
		if err == nil {
			err = c.applyEgress(ctx)
		}
		netErr <- err
	}()
	rootErr := c.makeRootFS(ctx)
	if err := errors.Join(rootErr, <-netErr); err != nil {
		return err
	}
	hostname := c.m.Handle
	if !hostnameRE.MatchString(hostname) {
		hostname = c.m.ID
	}
	if err := c.writeNameFiles(hostname); err != nil {
		return err
	}
	spec := bundleSpec(c.m.Spec, hostname, c.m.Net.nsPath(), c.b.cfg.CgroupParent+"/"+c.m.ID, c.b.swapAccounting)
	if err := writeJSON(filepath.Join(c.dir, "config.json"), spec); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(c.dir, "init.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	pidFile := filepath.Join(c.dir, "init.pid")
	cmd := exec.CommandContext(ctx, c.b.cfg.RuncPath, "--root", c.b.runcRoot, "run", "--detach", "--bundle", c.dir, "--pid-file", pidFile, c.m.ID)
	cmd.Stdout, cmd.Stderr = logf, logf // init keeps them: never a pipe
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(logf.Name())
		return fmt.Errorf("runc run: %w: %s", err, strings.TrimSpace(string(out)))
	}
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("reading init's pid: %w", err)
	}
	if c.m.InitPid, err = strconv.Atoi(strings.TrimSpace(string(raw))); err != nil {
		return fmt.Errorf("init's pid %q: %w", raw, err)
	}
	st, _ := proc.ReadStat(c.m.InitPid)
	c.m.InitStart = st.Start
	if c.m.Cgroups, err = cgroupsOf(c.m.InitPid); err != nil {
		return err
	}
	return c.saveMeta()
}

func (c *Container) saveMeta() error {
	c.mu.Lock()
	m := c.m
	m.Stopped = c.stopped
	c.mu.Unlock()
	return writeJSON(filepath.Join(c.dir, metaFile), m)
}

// writeJSON writes v to path atomically.
func writeJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// makeRootFS mounts an overlay of the rootfs at rootfs/ (upper/ and work/
// beside it, or on the disk image when DiskMB is set) or, in copy mode or
// when overlayfs fails in auto mode, copies it.
func (c *Container) makeRootFS(ctx context.Context) error {
	root := c.RootFSPath()
	if err := os.Mkdir(root, 0o755); err != nil {
		return err
	}
	mode := c.b.cfg.RootFSMode
	if mode != RootFSCopy {
		layer := c.dir
		if c.m.Spec.DiskMB > 0 {
			if err := c.mountDisk(ctx); err != nil {
				return err
			}
			layer = c.diskDir()
		}
		upper, work := filepath.Join(layer, "upper"), filepath.Join(layer, "work")
		for _, d := range []string{upper, work} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
		}
		if strings.ContainsAny(c.m.LowerDir+c.dir, ",:") {
			return fmt.Errorf("overlay: paths may not contain ',' or ':' (%s, %s)", c.m.LowerDir, c.dir)
		}
		opts := "lowerdir=" + c.m.LowerDir + ",upperdir=" + upper + ",workdir=" + work
		err := syscall.Mount("overlay", root, "overlay", 0, opts)
		if err == nil {
			c.m.Overlay = true
			return nil
		}
		if mode == RootFSOverlay {
			return fmt.Errorf("mounting the overlay rootfs (set rootfs_mode to copy if overlayfs is unavailable): %w", err)
		}
		c.b.log.Warn("overlayfs failed, copying the rootfs (DiskMB is not enforced on a copy)", "err", err)
		if c.m.Disk {
			if err := unmountDisk(c.diskDir()); err != nil {
				return err
			}
			c.m.Disk = false
		}
	}
	out, err := exec.Command("cp", "-a", c.m.LowerDir+"/.", root).CombinedOutput()
	if err != nil {
		return fmt.Errorf("copying the rootfs %s: %w: %s", c.m.LowerDir, err, out)
	}
	return nil
}

// cleanup removes everything of the container; things already gone are fine.
func (c *Container) cleanup(ctx context.Context) error {
	var errs []error
	if err := c.runc(ctx, "delete", "--force", c.m.ID); err != nil && !strings.Contains(err.Error(), "not exist") {
		errs = append(errs, err)
	}
	// The runc exec processes end with their container processes.
	if err := c.waitProcs(ctx); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if err := c.b.teardownNetwork(ctx, c.m.Net); err != nil {
		errs = append(errs, err)
	}
	root := c.RootFSPath()
	if err := syscall.Unmount(root, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
		errs = append(errs, fmt.Errorf("unmounting %s: %w", root, err))
	}
	if err := unmountDisk(c.diskDir()); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("removing the bundle: %w", err)
	}
	return nil
}

// waitProcs waits until every process started by Run is reaped.
func (c *Container) waitProcs(ctx context.Context) error {
	for {
		c.mu.Lock()
		n := len(c.procs)
		c.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d processes: %w", n, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// initAlive reports that the container's init is still running.
func (c *Container) initAlive() bool {
	st, ok := proc.ReadStat(c.m.InitPid)
	return ok && !st.Zombie() && st.Start == c.m.InitStart
}

// Info implements container.Container.
func (c *Container) Info(ctx context.Context) (container.Info, error) {
	if err := c.errIfGone(); err != nil {
		return container.Info{}, err
	}
	state := "active"
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if stopped || !c.initAlive() {
		state = "stopped"
	}
	return container.Info{
		Handle:      c.m.Handle,
		State:       state,
		HostIP:      c.b.cfg.HostIP,
		ContainerIP: c.m.Net.ContainerIP,
		Ports:       append([]container.PortMapping(nil), c.m.Ports...),
		Properties:  maps.Clone(c.m.Spec.Properties),
		OOMKilled:   c.checkOOM(),
	}, nil
}

// checkOOM reads the memory cgroup's OOM kill count (sticky once seen).
func (c *Container) checkOOM() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.oomKilled && oomKills(c.m.Cgroups["memory"]) > 0 {
		c.oomKilled = true
	}
	return c.oomKilled
}

// Stop implements container.Container: SIGTERM (SIGKILL when kill) to every
// process of the container but init, SIGKILL after the grace period, then
// init is killed and Stop returns once every process started by Run is
// reaped. If ctx ends first everything is killed and ctx's error returned.
func (c *Container) Stop(ctx context.Context, kill bool) error {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	if err := c.saveMeta(); err != nil {
		c.b.log.Warn("recording the stop", "handle", c.m.Handle, "err", err)
	}
	gone := func() bool { return len(c.userProcs()) == 0 }
	killAll := func() {
		c.signalUser(syscall.SIGKILL)
		c.killInit() // and with it every process of the PID namespace
	}
	if err := host.Stop(ctx, kill, time.Duration(c.b.cfg.StopGracePeriod), c.signalUser, gone, killAll, c.killInit); err != nil {
		return err
	}
	c.killInit()
	return c.waitProcs(ctx)
}

func (c *Container) signalUser(sig syscall.Signal) {
	for _, pid := range c.userProcs() {
		_ = syscall.Kill(pid, sig)
	}
}

func (c *Container) killInit() {
	if c.initAlive() {
		_ = syscall.Kill(c.m.InitPid, syscall.SIGKILL)
	}
}

// userProcs are the live processes of the container's cgroup but init and
// its sleep.
func (c *Container) userProcs() []int {
	var pids []int
	for _, pid := range cgroupPids(c.m.Cgroups["pids"]) {
		if pid == c.m.InitPid {
			continue
		}
		st, ok := proc.ReadStat(pid)
		if !ok || st.Zombie() || (st.PPID == c.m.InitPid && isInitSleep(pid)) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

func isInitSleep(pid int) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && string(raw) == "sleep\x00"+initSleepArg+"\x00"
}

// Metrics implements container.Container from the container's cgroups, the
// host end of its veth and the size of its writable layer.
func (c *Container) Metrics(ctx context.Context) (container.Metrics, error) {
	if err := c.errIfGone(); err != nil {
		return container.Metrics{}, err
	}
	spec := c.m.Spec
	m := container.Metrics{
		MemoryBytes:  readUint(c.m.Cgroups["memory"], "memory.usage_in_bytes"),
		CPUTime:      time.Duration(readUint(c.m.Cgroups["cpuacct"], "cpuacct.usage")),
		ProcessCount: len(c.userProcs()),
		MemoryLimit:  uint64(max(spec.MemoryMB, 0)) << 20,
		DiskLimit:    uint64(max(spec.DiskMB, 0)) << 20,
	}
	// The host end's counters are the container's, mirrored.
	stats := filepath.Join("/sys/class/net", c.m.Net.HostVeth, "statistics")
	m.RxBytes = readUint(stats, "tx_bytes")
	m.TxBytes = readUint(stats, "rx_bytes")
	switch {
	case c.m.Disk:
		used, err := diskUsed(c.diskDir())
		if err != nil {
			return m, fmt.Errorf("reading the disk usage: %w", err)
		}
		m.DiskBytes = used
	case c.m.Overlay:
		m.DiskBytes = dirSize(filepath.Join(c.dir, "upper"))
	default:
		m.DiskBytes = dirSize(c.RootFSPath())
	}
	return m, ctx.Err()
}
