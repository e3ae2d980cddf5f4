package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/host"
)

// Backend is the sim container backend. It is safe for concurrent use.
type Backend struct {
	cfg      Config
	capacity container.Capacity
	pids     atomic.Int64

	mu         sync.Mutex
	containers map[string]*Container
	ports      *host.Ports
}

var _ container.Backend = (*Backend)(nil)

// New fills cfg's defaults and validates it.
func New(cfg Config) (*Backend, error) {
	cfg, err := container.Configure("sim", cfg)
	if err != nil {
		return nil, err
	}
	return &Backend{
		cfg:        cfg,
		capacity:   container.Capacity{MemoryMB: cfg.MemoryMB, DiskMB: cfg.DiskMB, MaxContainers: cfg.MaxContainers},
		containers: map[string]*Container{},
		ports:      host.NewPorts(cfg.PortRangeStart, cfg.PortRangeEnd),
	}, nil
}

// Config returns the effective configuration (defaults filled).
func (b *Backend) Config() Config { return b.cfg }

// Capacity implements container.Backend.
func (b *Backend) Capacity(ctx context.Context) (container.Capacity, error) {
	return b.capacity, nil
}

// Create implements container.Backend: it records the container and
// allocates one host port per requested container port (bookkeeping: a
// port is bound only by a process that listens).
func (b *Backend) Create(ctx context.Context, spec container.Spec) (container.Container, error) {
	if spec.Handle == "" {
		return nil, errors.New("container: empty handle")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := host.Admit(b.containers, spec.Handle, b.capacity.MaxContainers); err != nil {
		return nil, err
	}
	ports, err := b.ports.Allocate(spec.Handle, len(spec.Ports), b.portUsable)
	if err != nil {
		return nil, err
	}
	var mappings []container.PortMapping
	if len(ports) > 0 {
		mappings = make([]container.PortMapping, len(spec.Ports))
		for i, p := range spec.Ports {
			mappings[i] = container.PortMapping{ContainerPort: p, HostPort: ports[i]}
		}
	}
	c := newContainer(b, spec, mappings)
	b.containers[spec.Handle] = c
	return c, nil
}

// portUsable: with ListenPorts a host port must be free on this machine;
// otherwise any port of the range will do.
func (b *Backend) portUsable(port uint32) bool {
	return !b.cfg.ListenPorts || portFree(b.cfg.HostIP, port)
}

// Lookup implements container.Backend.
func (b *Backend) Lookup(ctx context.Context, handle string) (container.Container, error) {
	return b.lookup(handle)
}

func (b *Backend) lookup(handle string) (*Container, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.containers[handle]
	if !ok || c.isDestroying() {
		return nil, fmt.Errorf("%w: %s", container.ErrNotFound, handle)
	}
	return c, nil
}

// Containers implements container.Backend (sorted by handle).
func (b *Backend) Containers(ctx context.Context) ([]container.Container, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return host.List(maps.Values(b.containers), func(c *Container) bool { return !c.isDestroying() }), nil
}

// Destroy implements container.Backend: every process is killed, the
// files are dropped and the ports released.
func (b *Backend) Destroy(ctx context.Context, handle string) error {
	b.mu.Lock()
	c, ok := b.containers[handle]
	if !ok || !c.swapDestroying(false, true) {
		b.mu.Unlock()
		return fmt.Errorf("%w: %s", container.ErrNotFound, handle)
	}
	b.mu.Unlock()
	if err := c.Stop(ctx, true); err != nil {
		c.swapDestroying(true, false)
		return fmt.Errorf("container: destroying %s: %w", handle, err)
	}
	b.mu.Lock()
	delete(b.containers, handle)
	for _, m := range c.ports {
		b.ports.Release(handle, m.HostPort)
	}
	b.mu.Unlock()
	c.dropFiles()
	return nil
}

// Crash ends every process of the container at once with
// Config.CrashExitStatus, as if the app had crashed.
func (b *Backend) Crash(handle string) error {
	c, err := b.lookup(handle)
	if err != nil {
		return err
	}
	n := 0
	for _, g := range c.liveGroups() {
		if g.die(b.cfg.CrashExitStatus) {
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("container %s: no process to crash", handle)
	}
	return nil
}

// Healthy waits until a process of the container has started (StartDelay
// after it was run) and returns nil, or an error when none runs or ctx
// ends first. The rep asks it instead of running health checks.
func (b *Backend) Healthy(ctx context.Context, handle string) error {
	c, err := b.lookup(handle)
	if err != nil {
		return err
	}
	first := c.firstStart()
	if first.IsZero() {
		return fmt.Errorf("container %s: no process running", handle)
	}
	if wait := time.Until(first); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("container %s: not started yet: %w", handle, ctx.Err())
		}
	}
	return nil
}

func (b *Backend) nextPid() int { return int(b.pids.Add(1)) + 1 }
