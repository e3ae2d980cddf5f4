package garden

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	gardenapi "code.cloudfoundry.org/garden"
	"code.cloudfoundry.org/garden/client"
	"code.cloudfoundry.org/garden/client/connection"

	"github.com/diego-go/diego/src/rep/container"
)

// Properties this backend sets on every container. Properties with
// InternalPrefix are not reported by Info.
const (
	InternalPrefix      = "diego-go."
	OwnerProperty       = InternalPrefix + "owner"
	memoryLimitProperty = InternalPrefix + "memory-limit-bytes"
	diskLimitProperty   = InternalPrefix + "disk-limit-bytes"
)

// maxCPUShares is what CPU weight 100 becomes, as in the executor.
const maxCPUShares = 1024

// Backend is the garden container backend. It is safe for concurrent use.
type Backend struct {
	cfg    Config
	client gardenapi.Client
	log    *slog.Logger
}

var _ container.Backend = (*Backend)(nil)

// New fills cfg's defaults and validates it. It does not contact the
// server: call Ping for that.
func New(cfg Config) (*Backend, error) {
	cfg, err := container.Configure("garden", cfg)
	if err != nil {
		return nil, err
	}
	return &Backend{
		cfg:    cfg,
		client: client.New(connection.New(cfg.Network, cfg.Address)),
		log:    cfg.Logger.With("backend", "garden", "address", cfg.Address),
	}, nil
}

// Config returns the effective configuration (defaults filled).
func (b *Backend) Config() Config { return b.cfg }

// Ping checks that the Garden server answers, for the rep's start-up.
func (b *Backend) Ping(ctx context.Context) error {
	if err := call0(ctx, b.client.Ping); err != nil {
		return fmt.Errorf("garden server at %s://%s is not answering: %w (is garden-runc running?)", b.cfg.Network, b.cfg.Address, err)
	}
	return nil
}

// Capacity implements container.Backend. Disk is the schedulable disk when
// the server reports it.
func (b *Backend) Capacity(ctx context.Context) (container.Capacity, error) {
	c, err := call(ctx, b.client.Capacity)
	if err != nil {
		return container.Capacity{}, b.mapErr("capacity", "", err)
	}
	disk := c.SchedulableDiskInBytes
	if disk == 0 {
		disk = c.DiskInBytes
	}
	return container.Capacity{
		MemoryMB:      int64(c.MemoryInBytes >> 20),
		DiskMB:        int64(disk >> 20),
		MaxContainers: int(c.MaxContainers),
	}, nil
}

// Create implements container.Backend; see the package doc for the mapping.
func (b *Backend) Create(ctx context.Context, spec container.Spec) (container.Container, error) {
	if spec.Handle == "" {
		return nil, errors.New("container: empty handle")
	}
	gspec, err := b.containerSpec(spec)
	if err != nil {
		return nil, err
	}
	gc, err := call(ctx, func() (gardenapi.Container, error) { return b.client.Create(gspec) })
	if err != nil {
		return nil, b.mapErr("create", spec.Handle, err)
	}
	c := &Container{b: b, gc: gc}
	if err := b.mapMissingPorts(ctx, gc, spec.Ports); err != nil {
		if derr := b.client.Destroy(spec.Handle); derr != nil {
			b.log.Warn("destroying a container whose ports could not be mapped", "handle", spec.Handle, "error", derr)
		}
		return nil, err
	}
	return c, nil
}

func (b *Backend) containerSpec(spec container.Spec) (gardenapi.ContainerSpec, error) {
	rootfs, err := b.rootFS(spec.RootFS)
	if err != nil {
		return gardenapi.ContainerSpec{}, err
	}
	props := gardenapi.Properties{}
	for k, v := range spec.Properties {
		props[k] = v
	}
	props[OwnerProperty] = b.cfg.Owner
	var limits gardenapi.Limits
	if spec.MemoryMB > 0 {
		limits.Memory.LimitInBytes = uint64(spec.MemoryMB) << 20
		props[memoryLimitProperty] = strconv.FormatUint(limits.Memory.LimitInBytes, 10)
	}
	if spec.DiskMB > 0 {
		limits.Disk.ByteHard = uint64(spec.DiskMB) << 20
		props[diskLimitProperty] = strconv.FormatUint(limits.Disk.ByteHard, 10)
	}
	if spec.MaxPids > 0 {
		limits.Pid.Max = uint64(spec.MaxPids)
	}
	if spec.CPUWeight > 0 {
		shares := max(uint64(spec.CPUWeight)*maxCPUShares/100, 2)
		limits.CPU = gardenapi.CPULimits{Weight: shares, LimitInShares: shares}
	}
	netOut, err := netOut(spec.EgressRules)
	if err != nil {
		return gardenapi.ContainerSpec{}, err
	}
	netIn := make([]gardenapi.NetIn, len(spec.Ports))
	for i, p := range spec.Ports {
		netIn[i] = gardenapi.NetIn{ContainerPort: p}
	}
	var mounts []gardenapi.BindMount
	for _, m := range spec.BindMounts {
		mode := gardenapi.BindMountModeRW
		if m.ReadOnly {
			mode = gardenapi.BindMountModeRO
		}
		mounts = append(mounts, gardenapi.BindMount{SrcPath: m.HostPath, DstPath: m.ContainerPath, Mode: mode, Origin: gardenapi.BindMountOriginHost})
	}
	return gardenapi.ContainerSpec{
		Handle:     spec.Handle,
		Image:      gardenapi.ImageRef{URI: rootfs},
		Env:        slices.Clone(spec.Env),
		BindMounts: mounts,
		Properties: props,
		Limits:     limits,
		NetIn:      netIn,
		NetOut:     netOut,
	}, nil
}

// rootFS resolves "preloaded:NAME" through Config.DefaultRootFS.
func (b *Backend) rootFS(rootfs string) (string, error) {
	name, preloaded := strings.CutPrefix(rootfs, "preloaded:")
	if !preloaded {
		return rootfs, nil
	}
	if r, ok := b.cfg.DefaultRootFS[rootfs]; ok {
		return r, nil
	}
	if r, ok := b.cfg.DefaultRootFS[name]; ok {
		return r, nil
	}
	return "", fmt.Errorf("%w: %q is not in default_rootfs (garden-runc does not know preloaded rootfses by name)", container.ErrRootFSMissing, rootfs)
}

// mapMissingPorts asks for the ports the server did not map at create.
func (b *Backend) mapMissingPorts(ctx context.Context, gc gardenapi.Container, ports []uint32) error {
	if len(ports) == 0 {
		return nil
	}
	info, err := call(ctx, gc.Info)
	if err != nil {
		return b.mapErr("info", gc.Handle(), err)
	}
	for _, p := range ports {
		if slices.ContainsFunc(info.MappedPorts, func(m gardenapi.PortMapping) bool { return m.ContainerPort == p }) {
			continue
		}
		b.log.Debug("port not mapped at create; asking with NetIn", "handle", gc.Handle(), "container_port", p)
		if err := call0(ctx, func() error { _, _, err := gc.NetIn(0, p); return err }); err != nil {
			return b.mapErr(fmt.Sprintf("mapping container port %d", p), gc.Handle(), err)
		}
	}
	return nil
}

// Lookup implements container.Backend. It does not check the owner: the
// handle (an instance or task guid) is already specific.
func (b *Backend) Lookup(ctx context.Context, handle string) (container.Container, error) {
	gc, err := call(ctx, func() (gardenapi.Container, error) { return b.client.Lookup(handle) })
	if err != nil {
		return nil, b.mapErr("lookup", handle, err)
	}
	return &Container{b: b, gc: gc}, nil
}

// Destroy implements container.Backend.
func (b *Backend) Destroy(ctx context.Context, handle string) error {
	if err := call0(ctx, func() error { return b.client.Destroy(handle) }); err != nil {
		return b.mapErr("destroy", handle, err)
	}
	return nil
}

// Containers implements container.Backend: the containers whose
// OwnerProperty is Config.Owner, sorted by handle.
func (b *Backend) Containers(ctx context.Context) ([]container.Container, error) {
	gcs, err := call(ctx, func() ([]gardenapi.Container, error) {
		return b.client.Containers(gardenapi.Properties{OwnerProperty: b.cfg.Owner})
	})
	if err != nil {
		return nil, b.mapErr("list", "", err)
	}
	out := make([]container.Container, len(gcs))
	for i, gc := range gcs {
		out[i] = &Container{b: b, gc: gc}
	}
	slices.SortFunc(out, func(x, y container.Container) int { return strings.Compare(x.Handle(), y.Handle()) })
	return out, nil
}

// mapErr wraps a Garden error with what was done and maps it onto the
// container sentinels.
func (b *Backend) mapErr(op, handle string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("garden %s %s: %w", op, handle, err)
	}
	var sentinel error
	var notFound gardenapi.ContainerNotFoundError
	msg := strings.ToLower(err.Error())
	switch {
	case errors.As(err, &notFound):
		sentinel = container.ErrNotFound
	case strings.Contains(msg, "already exists"), strings.Contains(msg, "already in use"):
		sentinel = container.ErrExists
	case strings.Contains(msg, "capacity"), strings.Contains(msg, "insufficient"), strings.Contains(msg, "maximum"):
		sentinel = container.ErrNoCapacity
	case strings.Contains(msg, "rootfs not found"):
		sentinel = container.ErrRootFSMissing
	}
	where := "garden " + op
	if handle != "" {
		where += " " + handle
	}
	if sentinel != nil {
		return &mappedError{where: where, sentinel: sentinel, err: err}
	}
	return fmt.Errorf("%s: %w", where, err)
}

// mappedError is a Garden error that also matches a container sentinel
// (without repeating the sentinel's text when the server already said it).
type mappedError struct {
	where         string
	sentinel, err error
}

func (e *mappedError) Error() string {
	msg := e.err.Error()
	if !strings.Contains(msg, e.sentinel.Error()) {
		msg = e.sentinel.Error() + ": " + msg
	}
	return e.where + ": " + msg
}

func (e *mappedError) Unwrap() []error { return []error{e.sentinel, e.err} }

// userProperties drops the internal properties.
func userProperties(props gardenapi.Properties) map[string]string {
	out := maps.Clone(map[string]string(props))
	maps.DeleteFunc(out, func(k, _ string) bool { return strings.HasPrefix(k, InternalPrefix) })
	if out == nil {
		out = map[string]string{}
	}
	return out
}

// call runs fn, returning early with ctx.Err() if ctx ends first (fn is left
// to finish: the Garden client takes no context).
func call[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func call0(ctx context.Context, fn func() error) error {
	_, err := call(ctx, func() (struct{}, error) { return struct{}{}, fn() })
	return err
}
