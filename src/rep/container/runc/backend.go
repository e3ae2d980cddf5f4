package runc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/host"
)

// Backend is the runc container backend. It is safe for concurrent use.
type Backend struct {
	cfg            Config
	log            *slog.Logger
	capacity       container.Capacity
	cidr           netip.Prefix
	runcRoot       string
	swapAccounting bool
	tools          tools

	mu         sync.Mutex
	containers map[string]*Container // by handle; includes those being created
	ports      *host.Ports
	subnets    map[int]string // allocated /30 index -> handle
}

var _ container.Backend = (*Backend)(nil)

// New fills cfg's defaults, validates it, checks for root, runc and ip,
// detects the capacity not set in cfg and recovers the containers found
// under StateDir (restarting their port proxies).
func New(cfg Config) (*Backend, error) {
	cfg, err := container.Configure("runc", cfg)
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("runc backend: must run as root (namespaces, cgroups, mounts)")
	}
	for _, p := range []*string{&cfg.RuncPath, &cfg.IPPath} {
		if *p, err = exec.LookPath(*p); err != nil {
			return nil, fmt.Errorf("runc backend: %w (install the runc and iproute2 packages, or set runc_path/ip_path)", err)
		}
	}
	tl, err := findTools()
	if err != nil {
		return nil, err
	}
	b := &Backend{
		cfg:        cfg,
		tools:      tl,
		log:        cfg.Logger.With("backend", "runc"),
		cidr:       netip.MustParsePrefix(cfg.NetworkCIDR).Masked(),
		runcRoot:   filepath.Join(cfg.StateDir, "runc"),
		containers: map[string]*Container{},
		ports:      host.NewPorts(cfg.PortRangeStart, cfg.PortRangeEnd),
		subnets:    map[int]string{},
	}
	for _, d := range []string{b.runcRoot, b.containersDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("runc backend: creating the state dir: %w", err)
		}
	}
	if b.capacity, err = cfg.Settings.Capacity(cfg.StateDir); err != nil {
		return nil, fmt.Errorf("runc backend: %w", err)
	}
	_, err = os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	b.swapAccounting = err == nil
	if err := b.setupHostNAT(context.Background()); err != nil {
		return nil, fmt.Errorf("runc backend: %w", err)
	}
	b.recover()
	return b, nil
}

// Config returns the effective configuration (defaults filled).
func (b *Backend) Config() Config { return b.cfg }

func (b *Backend) containersDir() string { return filepath.Join(b.cfg.StateDir, "containers") }

// containerID is the runc id of handle: stable for a state dir, distinct
// between state dirs (whose containers share the host's netns names).
func (b *Backend) containerID(handle string) string {
	sum := sha256.Sum256([]byte(b.cfg.StateDir + "\x00" + handle))
	return hex.EncodeToString(sum[:6])
}

// Capacity implements container.Backend.
func (b *Backend) Capacity(ctx context.Context) (container.Capacity, error) {
	return b.capacity, nil
}

// Close stops the port proxies and forgets the containers without
// destroying them: a new Backend on the same StateDir takes them over.
func (b *Backend) Close() error {
	b.mu.Lock()
	cs := make([]*Container, 0, len(b.containers))
	for _, c := range b.containers {
		cs = append(cs, c)
	}
	b.containers = map[string]*Container{}
	b.mu.Unlock()
	for _, c := range cs {
		c.closeProxies()
	}
	return nil
}

// rootfsDir maps "preloaded:NAME" (or "NAME") onto its directory.
func (b *Backend) rootfsDir(rootfs string) (string, error) {
	name := strings.TrimPrefix(rootfs, "preloaded:")
	dir, ok := b.cfg.RootFSes[name]
	if !ok {
		return "", fmt.Errorf("%w: %q (configured: %v)", container.ErrRootFSMissing, rootfs, slices.Sorted(mapKeys(b.cfg.RootFSes)))
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin", "sh")); err != nil || fi.IsDir() {
		return "", fmt.Errorf("%w: %q: %s has no /bin/sh (build one with ci/dev/rootfs/busybox.sh)", container.ErrRootFSMissing, rootfs, dir)
	}
	return dir, nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Create implements container.Backend: an OCI bundle on an overlay (or a
// copy) of the rootfs, a network namespace with a veth pair, a proxy per
// mapped port, then "runc run --detach" of the init.
func (b *Backend) Create(ctx context.Context, spec container.Spec) (container.Container, error) {
	if spec.Handle == "" {
		return nil, errors.New("container: empty handle")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lower, err := b.rootfsDir(spec.RootFS)
	if err != nil {
		return nil, err
	}
	if _, err := egressRuleset("", b.cfg.DNSServers, spec.EgressRules); err != nil {
		return nil, fmt.Errorf("container: creating %s: %w", spec.Handle, err)
	}
	c, err := b.reserve(spec)
	if err != nil {
		return nil, err
	}
	c.m.LowerDir = lower
	if err := c.create(ctx); err != nil {
		b.log.Error("create failed", "handle", spec.Handle, "id", c.m.ID, "err", err)
		_ = c.cleanup(context.WithoutCancel(ctx))
		b.release(c)
		return nil, fmt.Errorf("container: creating %s: %w", spec.Handle, err)
	}
	c.mu.Lock()
	c.creating = false
	c.mu.Unlock()
	b.log.Info("created", "handle", spec.Handle, "id", c.m.ID, "ip", c.m.Net.ContainerIP, "ports", c.m.Ports)
	return c, nil
}

// reserve registers a container being created: its handle, host ports (the
// proxies listen from now on) and /30.
func (b *Backend) reserve(spec container.Spec) (*Container, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := host.Admit(b.containers, spec.Handle, b.capacity.MaxContainers); err != nil {
		return nil, err
	}
	spec.Env = slices.Clone(spec.Env)
	spec.Ports = slices.Clone(spec.Ports)
	spec.Properties = maps.Clone(spec.Properties)
	spec.EgressRules = slices.Clone(spec.EgressRules)
	id := b.containerID(spec.Handle)
	subnet, host, ctr, err := b.allocateSubnetLocked(spec.Handle)
	if err != nil {
		return nil, err
	}
	n := netNames(id)
	n.HostAddr, n.ContainerIP = host.String(), ctr.String()
	m := meta{Handle: spec.Handle, ID: id, Spec: spec, Subnet: subnet, Net: n}
	c := newContainer(b, m, filepath.Join(b.containersDir(), id))
	c.creating = true
	if err := b.allocatePortsLocked(c); err != nil {
		delete(b.subnets, subnet)
		return nil, err
	}
	b.containers[spec.Handle] = c
	return c, nil
}

// release forgets c and frees its ports and /30.
func (b *Backend) release(c *Container) {
	c.closeProxies()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.containers[c.m.Handle] == c {
		delete(b.containers, c.m.Handle)
	}
	for _, pm := range c.m.Ports {
		b.ports.Release(c.m.Handle, pm.HostPort)
	}
	if b.subnets[c.m.Subnet] == c.m.Handle {
		delete(b.subnets, c.m.Subnet)
	}
}

func (b *Backend) allocateSubnetLocked(handle string) (int, netip.Addr, netip.Addr, error) {
	used := hostAddrsInUse()
	for i := 0; ; i++ {
		host, ctr, ok := subnetFor(b.cidr, i)
		if !ok {
			return 0, host, ctr, fmt.Errorf("%w: no free /30 left in %s", container.ErrNoCapacity, b.cidr)
		}
		if _, taken := b.subnets[i]; taken || used[host] {
			continue
		}
		b.subnets[i] = handle
		return i, host, ctr, nil
	}
}

// allocatePortsLocked gives every requested container port a host port,
// round-robin through the range, and starts its proxy (a port something
// else listens on is skipped).
func (b *Backend) allocatePortsLocked(c *Container) error {
	_, err := b.ports.Allocate(c.m.Handle, len(c.m.Spec.Ports), func(p uint32) bool {
		cport := c.m.Spec.Ports[len(c.m.Ports)]
		px, err := startProxy(b.cfg.ListenIP, p, c.target(cport))
		if err != nil {
			return false
		}
		c.m.Ports = append(c.m.Ports, container.PortMapping{ContainerPort: cport, HostPort: p})
		c.proxies = append(c.proxies, px)
		return true
	})
	if err != nil {
		c.closeProxies()
		c.m.Ports = nil
	}
	return err
}

// Lookup implements container.Backend.
func (b *Backend) Lookup(ctx context.Context, handle string) (container.Container, error) {
	b.mu.Lock()
	c, ok := b.containers[handle]
	b.mu.Unlock()
	if !ok || !c.visible() {
		return nil, fmt.Errorf("%w: %s", container.ErrNotFound, handle)
	}
	return c, nil
}

// Containers implements container.Backend (sorted by handle).
func (b *Backend) Containers(ctx context.Context) ([]container.Container, error) {
	b.mu.Lock()
	cs := slices.Collect(maps.Values(b.containers))
	b.mu.Unlock()
	return host.List(slices.Values(cs), (*Container).visible), nil
}

// Destroy implements container.Backend: "runc delete --force" (SIGKILL to
// every process, cgroups removed), then the network, the port proxies, the
// rootfs mount and the bundle. If ctx ends before the processes are gone
// the container stays (destroy again).
func (b *Backend) Destroy(ctx context.Context, handle string) error {
	b.mu.Lock()
	c, ok := b.containers[handle]
	b.mu.Unlock()
	if !ok || !c.beginDestroy() {
		return fmt.Errorf("%w: %s", container.ErrNotFound, handle)
	}
	if err := c.cleanup(ctx); err != nil {
		c.abortDestroy()
		return fmt.Errorf("container: destroying %s (destroy again to retry): %w", handle, err)
	}
	b.release(c)
	b.log.Info("destroyed", "handle", handle, "id", c.m.ID)
	return nil
}

// recover loads the containers a previous backend left under StateDir and
// restarts their port proxies.
func (b *Backend) recover() {
	entries, err := os.ReadDir(b.containersDir())
	if err != nil {
		b.log.Error("recovery: reading the containers dir", "err", err)
		return
	}
	known := b.runcList()
	keep := map[string]bool{}
	defer b.releaseStaleLoops(keep)
	for _, e := range entries {
		dir := filepath.Join(b.containersDir(), e.Name())
		raw, err := os.ReadFile(filepath.Join(dir, metaFile))
		var m meta
		if err == nil {
			err = json.Unmarshal(raw, &m)
		}
		if err != nil {
			b.removePartial(dir, err)
			delete(known, e.Name())
			continue
		}
		keep[dir] = true
		c := newContainer(b, m, dir)
		c.stopped = m.Stopped
		if known != nil && !known[m.ID] {
			b.log.Warn("recovery: runc does not know the container (rebooted?): it is stopped; destroy it", "handle", m.Handle, "id", m.ID)
		}
		delete(known, m.ID)
		b.mu.Lock()
		b.containers[m.Handle] = c
		b.subnets[m.Subnet] = m.Handle
		for _, pm := range m.Ports {
			b.ports.Hold(m.Handle, pm.HostPort)
			px, err := startProxy(b.cfg.ListenIP, pm.HostPort, c.target(pm.ContainerPort))
			if err != nil {
				b.log.Error("recovery: cannot listen on a mapped port", "handle", m.Handle, "port", pm.HostPort, "err", err)
				continue
			}
			c.proxies = append(c.proxies, px)
		}
		b.mu.Unlock()
		b.log.Info("recovered", "handle", m.Handle, "id", m.ID)
	}
	for id := range known {
		b.log.Warn("recovery: runc lists a container without a bundle here (remove it with runc delete -f)", "id", id, "root", b.runcRoot)
	}
}

// removePartial removes a bundle without metadata: a create the previous
// backend did not finish (its runc container, netns, mounts and loop device
// included).
func (b *Backend) removePartial(dir string, why error) {
	id := filepath.Base(dir)
	b.log.Warn("recovery: removing a bundle without metadata (an unfinished create)", "dir", dir, "err", why)
	c := newContainer(b, meta{ID: id, Net: netNames(id)}, dir)
	if err := c.cleanup(context.Background()); err != nil {
		b.log.Error("recovery: removing an unfinished bundle (remove it by hand)", "dir", dir, "err", err)
	}
}

// runcList is the set of container ids "runc list" knows under the
// backend's root (nil when runc fails).
func (b *Backend) runcList() map[string]bool {
	out, err := exec.Command(b.cfg.RuncPath, "--root", b.runcRoot, "list", "--quiet").Output()
	if err != nil {
		b.log.Error("recovery: runc list", "err", err)
		return nil
	}
	ids := map[string]bool{}
	for _, id := range strings.Fields(string(out)) {
		ids[id] = true
	}
	return ids
}
