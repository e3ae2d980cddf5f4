package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/proc"
)

// ioWaitDelay bounds how long Wait waits for a process's output pipes to
// close after it exits (a background child may hold them open).
const ioWaitDelay = time.Second

// Container is one process-backend container.
type Container struct {
	b      *Backend
	handle string
	rootfs string
	dir    string // the container's home: "/" inside the container
	env    []string
	props  map[string]string
	ports  []container.PortMapping
	limits container.Spec

	mu         sync.Mutex
	state      string // "active" or "stopped"
	destroying bool
	procs      map[string]*process // not yet reaped
	groups     map[int]struct{}    // process groups that may still have members
	cpuExited  time.Duration
	oomKilled  bool
	watchDone  chan struct{}
	watchOnce  sync.Once
}

var _ container.Container = (*Container)(nil)

func newContainer(b *Backend, spec container.Spec, rootfs, dir string, ports []container.PortMapping) *Container {
	c := &Container{
		b: b, handle: spec.Handle, rootfs: rootfs, dir: dir,
		env:       append([]string(nil), spec.Env...),
		props:     maps.Clone(spec.Properties),
		ports:     ports,
		limits:    spec,
		state:     "active",
		procs:     map[string]*process{},
		groups:    map[int]struct{}{},
		watchDone: make(chan struct{}),
	}
	if spec.MemoryMB > 0 && b.cfg.MemoryCheckInterval > 0 {
		go c.watchMemory(time.Duration(b.cfg.MemoryCheckInterval), uint64(spec.MemoryMB)<<20)
	}
	return c
}

// Handle implements container.Container.
func (c *Container) Handle() string { return c.handle }

// Dir is the container's home on the host.
func (c *Container) Dir() string { return c.dir }

// RootFS is the rootfs name the container was created with (not used).
func (c *Container) RootFS() string { return c.rootfs }

func (c *Container) isDestroying() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.destroying
}

// swapDestroying moves destroying from old to new; false if it was not old
// (beginning a destroy: false to true; aborting it: true to false).
func (c *Container) swapDestroying(old, new bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroying != old {
		return false
	}
	c.destroying = new
	return true
}

func (c *Container) closeWatch() { c.watchOnce.Do(func() { close(c.watchDone) }) }

// Info implements container.Container. ContainerIP is the host IP: there is
// no network isolation.
func (c *Container) Info(ctx context.Context) (container.Info, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroying {
		return container.Info{}, fmt.Errorf("%w: %s", container.ErrNotFound, c.handle)
	}
	return container.Info{
		Handle:      c.handle,
		State:       c.state,
		HostIP:      c.b.cfg.HostIP,
		ContainerIP: c.b.cfg.HostIP,
		Ports:       append([]container.PortMapping(nil), c.ports...),
		Properties:  maps.Clone(c.props),
		OOMKilled:   c.oomKilled,
	}, nil
}

// resolve maps a path inside the container onto the host: "/" is the home
// and ".." cannot climb out of it.
func (c *Container) resolve(p string) string {
	return filepath.Join(c.dir, filepath.Clean("/"+p))
}

// Run implements container.Container. The process gets its own process
// group; ctx only bounds the start, not the process's life.
func (c *Container) Run(ctx context.Context, spec container.ProcessSpec, pio container.ProcessIO) (container.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	env := mountEnv(c.dir, c.limits.BindMounts, c.processEnv(spec.Env))
	dir := c.resolve(spec.Dir)
	path, args := c.lookPath(spec.Path, env), spec.Args
	if spec.NoFile > 0 {
		args = append([]string{"-c", `ulimit -n ` + strconv.FormatUint(spec.NoFile, 10) + ` && exec "$0" "$@"`, path}, args...)
		path = "/bin/sh"
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        append([]string{spec.Path}, args...),
		Env:         env,
		Dir:         dir,
		Stdin:       pio.Stdin,
		Stdout:      pio.Stdout,
		Stderr:      pio.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		WaitDelay:   ioWaitDelay,
	}
	if spec.NoFile > 0 {
		cmd.Args[0] = "/bin/sh"
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroying || c.state != "active" {
		return nil, fmt.Errorf("container %s is %s: cannot run processes", c.handle, c.state)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("container: running %s: %w", spec.Path, err)
	}
	p := &process{Process: proc.New(), pgid: cmd.Process.Pid}
	if err := recordPgid(c.dir, p.pgid); err != nil {
		_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
		go func() { _ = cmd.Wait() }()
		return nil, fmt.Errorf("container: recording process group: %w", err)
	}
	c.procs[p.ID()] = p
	c.groups[p.pgid] = struct{}{}
	go c.reap(p, cmd)
	return p, nil
}

func (c *Container) reap(p *process, cmd *exec.Cmd) {
	err := cmd.Wait()
	st := cmd.ProcessState
	p.Reaped(st, err)
	c.mu.Lock()
	delete(c.procs, p.ID())
	if st != nil {
		c.cpuExited += st.UserTime() + st.SystemTime()
	}
	c.mu.Unlock()
	p.Close()
}

// processEnv is PATH (DefaultPath unless given), the container's env, the
// process's env, the networking variables, then PORT: a PORT naming a
// requested container port becomes its host port, and a missing PORT the
// first host port, since with no network isolation the app must listen on
// the host port itself.
func (c *Container) processEnv(procEnv []string) []string {
	env := []string{"PATH=" + c.b.cfg.DefaultPath}
	env = append(env, c.env...)
	env = append(env, procEnv...)
	// With no network isolation processes listen on the host ports: those
	// are the "internal" ports too.
	same := make([]container.PortMapping, len(c.ports))
	for i, m := range c.ports {
		same[i] = container.PortMapping{ContainerPort: m.HostPort, HostPort: m.HostPort}
	}
	env = append(env, container.NetworkEnv(c.b.cfg.HostIP, c.b.cfg.HostIP, same)...)
	if len(c.ports) == 0 {
		return env
	}
	first := c.ports[0].HostPort
	port := first
	if v, ok := lastEnv(env, "PORT"); ok {
		port = 0
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			for _, m := range c.ports {
				if uint64(m.ContainerPort) == n {
					port = m.HostPort
					break
				}
			}
		}
	}
	if port != 0 {
		env = append(env, fmt.Sprintf("PORT=%d", port))
	}
	return env
}

func lastEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// lookPath prefers a file inside the container: an absolute path that
// exists under the home, or a bare name found in PATH under the home, then
// on the host. Relative paths with a slash are relative to the process's Dir.
func (c *Container) lookPath(path string, env []string) string {
	isExec := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
	}
	if filepath.IsAbs(path) {
		if in := c.resolve(path); isExec(in) {
			return in
		}
		return path
	}
	if strings.Contains(path, "/") {
		return path
	}
	pathVar, _ := lastEnv(env, "PATH")
	for _, d := range filepath.SplitList(pathVar) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		if in := c.resolve(filepath.Join(d, path)); isExec(in) {
			return in
		}
		if isExec(filepath.Join(d, path)) {
			return filepath.Join(d, path)
		}
	}
	return path
}

// Stop implements container.Container: SIGTERM (SIGKILL when kill) to every
// process group, SIGKILL after the grace period, then wait until no
// process of those groups is alive and every started process is reaped. If
// ctx ends first, everything gets SIGKILL and ctx's error is returned.
func (c *Container) Stop(ctx context.Context, kill bool) error {
	c.mu.Lock()
	c.state = "stopped"
	c.mu.Unlock()

	killAll := func() { c.signalAll(syscall.SIGKILL) }
	return host.Stop(ctx, kill, time.Duration(c.b.cfg.StopGracePeriod), c.signalAll, c.allGone, killAll, killAll)
}

func (c *Container) signalAll(sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	signalGroups(c.groups, sig)
}

// allGone reports that no process of the container is alive or unreaped,
// forgetting process groups that have no member left.
func (c *Container) allGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	live, seen := scanGroups(c.groups)
	c.pruneLocked(seen)
	return len(live) == 0 && len(c.procs) == 0
}

// pruneLocked forgets groups with no member (so a reused pgid is never
// signalled) unless their leader is still ours to reap.
func (c *Container) pruneLocked(seen map[int]bool) {
	leaders := map[int]bool{}
	for _, p := range c.procs {
		leaders[p.pgid] = true
	}
	for g := range c.groups {
		if !seen[g] && !leaders[g] {
			delete(c.groups, g)
		}
	}
}

// Metrics implements container.Container from /proc: processes, RSS and CPU
// of the container's process groups (plus CPU of reaped processes), and the
// apparent size of the files in the home.
func (c *Container) Metrics(ctx context.Context) (container.Metrics, error) {
	c.mu.Lock()
	if c.destroying {
		c.mu.Unlock()
		return container.Metrics{}, fmt.Errorf("%w: %s", container.ErrNotFound, c.handle)
	}
	live, seen := scanGroups(c.groups)
	c.pruneLocked(seen)
	m := container.Metrics{
		ProcessCount: len(live),
		CPUTime:      c.cpuExited,
		MemoryLimit:  uint64(max(c.limits.MemoryMB, 0)) << 20,
		DiskLimit:    uint64(max(c.limits.DiskMB, 0)) << 20,
	}
	c.mu.Unlock()
	for _, p := range live {
		m.MemoryBytes += p.RSSBytes
		m.CPUTime += p.CPU
	}
	_ = filepath.WalkDir(c.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				m.DiskBytes += uint64(fi.Size())
			}
		}
		return nil
	})
	return m, ctx.Err()
}

// watchMemory is the best-effort memory limit: without cgroups the backend
// polls the RSS of the container's processes and SIGKILLs them all (setting
// OOMKilled) once it exceeds the limit.
func (c *Container) watchMemory(every time.Duration, limit uint64) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.watchDone:
			return
		case <-t.C:
		}
		c.mu.Lock()
		live, _ := scanGroups(c.groups)
		var rss uint64
		for _, p := range live {
			rss += p.RSSBytes
		}
		if rss > limit {
			c.oomKilled = true
			signalGroups(c.groups, syscall.SIGKILL)
		}
		c.mu.Unlock()
	}
}

// process is a process started by Run, in its own process group.
type process struct {
	proc.Process
	pgid int
}

// Signal sends sig to the process's whole process group.
func (p *process) Signal(sig os.Signal) error {
	s, err := p.Signalable(sig)
	if err != nil {
		return err
	}
	if err := syscall.Kill(-p.pgid, s); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
