package process

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/proc"
)

// Backend is the process container backend. It is safe for concurrent use.
type Backend struct {
	cfg      Config
	capacity container.Capacity
	reaped   int // leftover containers of an earlier backend removed by New

	mu         sync.Mutex
	containers map[string]*Container
	ports      *host.Ports
}

var _ container.Backend = (*Backend)(nil)

// New fills cfg's defaults, validates it, creates the root dir and detects
// the capacity not set in cfg.
func New(cfg Config) (*Backend, error) {
	cfg, err := container.Configure("process", cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.RootDir, 0o755); err != nil {
		return nil, fmt.Errorf("process backend: %w", err)
	}
	reaped, err := reapLeftovers(cfg.RootDir)
	if err != nil {
		return nil, err
	}
	capy, err := cfg.Settings.Capacity(cfg.RootDir)
	if err != nil {
		return nil, fmt.Errorf("process backend: %w", err)
	}
	return &Backend{
		reaped:     reaped,
		cfg:        cfg,
		capacity:   capy,
		containers: map[string]*Container{},
		ports:      host.NewPorts(cfg.PortRangeStart, cfg.PortRangeEnd),
	}, nil
}

// Reaped reports how many containers an earlier backend on the same
// RootDir left behind (the rep was killed) and New removed, killing their
// processes.
func (b *Backend) Reaped() int { return b.reaped }

// Config returns the effective configuration (defaults filled).
func (b *Backend) Config() Config { return b.cfg }

// Capacity implements container.Backend.
func (b *Backend) Capacity(ctx context.Context) (container.Capacity, error) {
	return b.capacity, nil
}

// Create implements container.Backend: it makes the container's home under
// RootDir and allocates one host port per requested container port.
func (b *Backend) Create(ctx context.Context, spec container.Spec) (container.Container, error) {
	if spec.Handle == "" {
		return nil, errors.New("container: empty handle")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rootfs := strings.TrimPrefix(spec.RootFS, "preloaded:")
	if len(b.cfg.RootFSes) > 0 && !slices.Contains(b.cfg.RootFSes, rootfs) {
		return nil, fmt.Errorf("%w: %q", container.ErrRootFSMissing, spec.RootFS)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if err := host.Admit(b.containers, spec.Handle, b.capacity.MaxContainers); err != nil {
		return nil, err
	}
	ports, err := b.ports.Allocate(spec.Handle, len(spec.Ports), portFree)
	if err != nil {
		return nil, err
	}
	mappings := make([]container.PortMapping, len(spec.Ports))
	for i, p := range spec.Ports {
		mappings[i] = container.PortMapping{ContainerPort: p, HostPort: ports[i]}
	}
	dir := filepath.Join(b.cfg.RootDir, "c-"+proc.RandomHex(8))
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.ports.Release(spec.Handle, ports...)
		return nil, fmt.Errorf("container: creating home: %w", err)
	}
	if err := linkMounts(dir, spec.BindMounts); err != nil {
		_ = removeAll(dir)
		b.ports.Release(spec.Handle, ports...)
		return nil, err
	}
	c := newContainer(b, spec, rootfs, dir, mappings)
	b.containers[spec.Handle] = c
	return c, nil
}

// Lookup implements container.Backend.
func (b *Backend) Lookup(ctx context.Context, handle string) (container.Container, error) {
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

// Destroy implements container.Backend: SIGKILL to every process group of
// the container, wait for them, remove the home, release the ports. If ctx
// ends before the processes are gone the container stays (destroy again).
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
	c.closeWatch()
	rmErr := removeAll(c.dir)
	_ = os.Remove(pgidFile(c.dir))

	b.mu.Lock()
	delete(b.containers, handle)
	for _, m := range c.ports {
		b.ports.Release(handle, m.HostPort)
	}
	b.mu.Unlock()
	if rmErr != nil {
		return fmt.Errorf("container: removing %s: %w", c.dir, rmErr)
	}
	return nil
}

// portFree reports whether nothing listens on port (all addresses).
func portFree(port uint32) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(int(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// removeAll removes dir, making read-only directories a process left behind
// writable first if needed.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
