package sim

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/host"
)

// Container is one sim container: its spec and what runs in it, in memory.
type Container struct {
	b         *Backend
	handle    string
	env       []string
	props     map[string]string
	ports     []container.PortMapping
	mounts    []container.BindMount
	memLimit  int64
	diskLimit int64

	mu         sync.Mutex
	stopped    bool
	destroying bool
	groups     []*group         // live ones
	files      map[string]*file // by cleaned absolute path; nil until written
}

var _ container.Container = (*Container)(nil)

func newContainer(b *Backend, spec container.Spec, ports []container.PortMapping) *Container {
	c := &Container{
		b: b, handle: spec.Handle, ports: ports,
		memLimit: max(spec.MemoryMB, 0), diskLimit: max(spec.DiskMB, 0),
	}
	if len(spec.Env) > 0 {
		c.env = slices.Clone(spec.Env)
	}
	if len(spec.Properties) > 0 {
		c.props = maps.Clone(spec.Properties)
	}
	if len(spec.BindMounts) > 0 {
		c.mounts = slices.Clone(spec.BindMounts)
	}
	return c
}

// Handle implements container.Container.
func (c *Container) Handle() string { return c.handle }

func (c *Container) isDestroying() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.destroying
}

func (c *Container) swapDestroying(old, new bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroying != old {
		return false
	}
	c.destroying = new
	return true
}

func (c *Container) addGroup(g *group) {
	c.mu.Lock()
	c.groups = append(c.groups, g)
	c.mu.Unlock()
}

func (c *Container) removeGroup(g *group) {
	c.mu.Lock()
	if i := slices.Index(c.groups, g); i >= 0 {
		c.groups = slices.Delete(c.groups, i, i+1)
	}
	if len(c.groups) == 0 {
		c.groups = nil
	}
	c.mu.Unlock()
}

// firstStart is when the first of the container's live processes starts
// (zero when none lives). Healthy asks it for every instance every
// health-check interval, so it copies nothing.
func (c *Container) firstStart() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first time.Time
	for _, g := range c.groups {
		if first.IsZero() || g.startAt.Before(first) {
			first = g.startAt
		}
	}
	return first
}

func (c *Container) liveGroups() []*group {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.groups)
}

func (c *Container) groupByPid(pid int) *group {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range c.groups {
		if g.pid == pid {
			return g
		}
	}
	return nil
}

func (c *Container) dropFiles() {
	c.mu.Lock()
	c.files = nil
	c.mu.Unlock()
}

// Info implements container.Container. ContainerIP is the host IP, as for
// the process backend.
func (c *Container) Info(ctx context.Context) (container.Info, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroying {
		return container.Info{}, fmt.Errorf("%w: %s", container.ErrNotFound, c.handle)
	}
	state := "active"
	if c.stopped {
		state = "stopped"
	}
	return container.Info{
		Handle: c.handle, State: state,
		HostIP: c.b.cfg.HostIP, ContainerIP: c.b.cfg.HostIP,
		Ports:      slices.Clone(c.ports),
		Properties: maps.Clone(c.props),
	}, nil
}

// Run implements container.Container: a simulated app returns at once and
// costs no goroutine; a script or builtin runs in a goroutine of its own.
func (c *Container) Run(ctx context.Context, spec container.ProcessSpec, pio container.ProcessIO) (container.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	ok := !c.destroying && !c.stopped
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("container %s is stopped: cannot run processes", c.handle)
	}
	env := append(append([]string{"PATH=" + c.b.cfg.DefaultPath}, c.env...), spec.Env...)
	env = append(env, container.NetworkEnv(c.b.cfg.HostIP, c.b.cfg.HostIP, c.ports)...)
	dir := path.Clean("/" + spec.Dir)
	sio := newStdio(pio)
	prog := c.resolve(spec.Path, dir, envMap(env))
	switch prog.kind {
	case progApp, progBinary:
		g := c.newGroup(false, nil)
		if err := c.startProgram(g, prog, spec.Args, envMap(env)); err != nil {
			g.die(2)
			return nil, fmt.Errorf("container: running %s: %w", spec.Path, err)
		}
		return process{g}, nil
	}
	g := c.newGroup(prog.kind != progBuiltin, nil)
	s := newShell(c, g, env, dir, sio)
	go func() {
		status, err := s.exec(prog, append([]string{spec.Path}, spec.Args...))
		s.finish(status, err)
	}()
	return process{g}, nil
}

// Stop implements container.Container: SIGTERM (SIGKILL when kill) to
// every process, SIGKILL after the grace period, until none is left.
func (c *Container) Stop(ctx context.Context, kill bool) error {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	signalAll := func(sig syscall.Signal) {
		for _, g := range c.liveGroups() {
			g.signal(sig)
		}
	}
	gone := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.groups) == 0
	}
	killAll := func() { signalAll(syscall.SIGKILL) }
	return host.Stop(ctx, kill, time.Duration(c.b.cfg.StopGracePeriod), signalAll, gone, killAll, killAll)
}

// Metrics implements container.Container: the live processes, a nominal
// MiB of memory each (plus what "mem N" holds) and the files' sizes.
func (c *Container) Metrics(ctx context.Context) (container.Metrics, error) {
	if c.isDestroying() {
		return container.Metrics{}, fmt.Errorf("%w: %s", container.ErrNotFound, c.handle)
	}
	m := container.Metrics{MemoryLimit: uint64(c.memLimit) << 20, DiskLimit: uint64(c.diskLimit) << 20}
	for _, g := range c.liveGroups() {
		n, mem := g.processes()
		m.ProcessCount += n
		m.MemoryBytes += uint64(mem) << 20
	}
	m.DiskBytes = c.diskBytes()
	return m, ctx.Err()
}

// stdio are a process's streams, never nil.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

func newStdio(pio container.ProcessIO) stdio {
	s := stdio{in: pio.Stdin, out: pio.Stdout, err: pio.Stderr}
	if s.in == nil {
		s.in = eofReader{}
	}
	if s.out == nil {
		s.out = io.Discard
	}
	if s.err == nil {
		s.err = io.Discard
	}
	return s
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
