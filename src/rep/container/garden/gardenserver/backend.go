package gardenserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"code.cloudfoundry.org/garden"

	"github.com/diego-go/diego/src/rep/container"
)

// maxCPUShares is the CPU shares of weight 100.
const maxCPUShares = 1024

// errUnsupported is wrapped by every Garden call the adapter cannot serve.
var errUnsupported = errors.New("not supported by the diego-go garden adapter")

// Backend is a garden.Backend over a container.Backend.
type Backend struct {
	b container.Backend
}

var _ garden.Backend = (*Backend)(nil)

// New returns a garden.Backend serving b.
func New(b container.Backend) *Backend { return &Backend{b: b} }

// Start implements garden.Backend.
func (a *Backend) Start() error { return nil }

// Stop implements garden.Backend.
func (a *Backend) Stop() error { return nil }

// GraceTime implements garden.Backend: 0, never reap idle containers.
func (a *Backend) GraceTime(garden.Container) time.Duration { return 0 }

// Ping implements garden.Client.
func (a *Backend) Ping() error { return nil }

// Capacity implements garden.Client.
func (a *Backend) Capacity() (garden.Capacity, error) {
	c, err := a.b.Capacity(context.Background())
	if err != nil {
		return garden.Capacity{}, gardenErr(err, "")
	}
	return garden.Capacity{
		MemoryInBytes:          uint64(c.MemoryMB) << 20,
		DiskInBytes:            uint64(c.DiskMB) << 20,
		SchedulableDiskInBytes: uint64(c.DiskMB) << 20,
		MaxContainers:          uint64(c.MaxContainers),
	}, nil
}

// Create implements garden.Client; see the package doc for the mapping.
func (a *Backend) Create(gs garden.ContainerSpec) (garden.Container, error) {
	spec, err := toSpec(gs)
	if err != nil {
		return nil, err
	}
	c, err := a.b.Create(context.Background(), spec)
	if err != nil {
		return nil, gardenErr(err, gs.Handle)
	}
	return &Container{c: c}, nil
}

func toSpec(gs garden.ContainerSpec) (container.Spec, error) {
	if gs.Handle == "" {
		return container.Spec{}, errors.New("a handle is required")
	}
	rootfs := gs.Image.URI
	if rootfs == "" {
		rootfs = gs.RootFSPath
	}
	spec := container.Spec{
		Handle:     gs.Handle,
		RootFS:     rootfs,
		Env:        gs.Env,
		Properties: gs.Properties,
		MemoryMB:   int64(gs.Limits.Memory.LimitInBytes >> 20),
		DiskMB:     int64(gs.Limits.Disk.ByteHard >> 20),
		MaxPids:    int64(gs.Limits.Pid.Max),
	}
	shares := gs.Limits.CPU.LimitInShares
	if shares == 0 {
		shares = gs.Limits.CPU.Weight
	}
	if shares > 0 {
		spec.CPUWeight = uint32(max((shares*100+maxCPUShares/2)/maxCPUShares, 1))
	}
	for _, n := range gs.NetIn {
		if n.HostPort != 0 {
			return container.Spec{}, fmt.Errorf("net in %d:%d: fixed host ports are %w (the backend allocates them)", n.HostPort, n.ContainerPort, errUnsupported)
		}
		spec.Ports = append(spec.Ports, n.ContainerPort)
	}
	if len(gs.NetOut) > 0 {
		return container.Spec{}, fmt.Errorf("net out rules are %w", errUnsupported)
	}
	for _, m := range gs.BindMounts {
		if m.Origin != garden.BindMountOriginHost {
			return container.Spec{}, fmt.Errorf("bind mount %s: container-origin bind mounts are %w", m.DstPath, errUnsupported)
		}
		spec.BindMounts = append(spec.BindMounts, container.BindMount{HostPath: m.SrcPath, ContainerPath: m.DstPath, ReadOnly: m.Mode == garden.BindMountModeRO})
	}
	return spec, nil
}

// Destroy implements garden.Client.
func (a *Backend) Destroy(handle string) error {
	return gardenErr(a.b.Destroy(context.Background(), handle), handle)
}

// Containers implements garden.Client: the containers having every filter
// property.
func (a *Backend) Containers(filter garden.Properties) ([]garden.Container, error) {
	ctx := context.Background()
	cs, err := a.b.Containers(ctx)
	if err != nil {
		return nil, gardenErr(err, "")
	}
	var out []garden.Container
	for _, c := range cs {
		if len(filter) > 0 {
			info, err := c.Info(ctx)
			if errors.Is(err, container.ErrNotFound) {
				continue // destroyed meanwhile
			} else if err != nil {
				return nil, gardenErr(err, c.Handle())
			}
			if !matches(info.Properties, filter) {
				continue
			}
		}
		out = append(out, &Container{c: c})
	}
	return out, nil
}

func matches(props, filter map[string]string) bool {
	for k, v := range filter {
		if got, ok := props[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// BulkInfo implements garden.Client.
func (a *Backend) BulkInfo(handles []string) (map[string]garden.ContainerInfoEntry, error) {
	return bulk(a, handles, garden.Container.Info, func(i garden.ContainerInfo, err *garden.Error) garden.ContainerInfoEntry {
		return garden.ContainerInfoEntry{Info: i, Err: err}
	}), nil
}

// BulkMetrics implements garden.Client.
func (a *Backend) BulkMetrics(handles []string) (map[string]garden.ContainerMetricsEntry, error) {
	return bulk(a, handles, garden.Container.Metrics, func(m garden.Metrics, err *garden.Error) garden.ContainerMetricsEntry {
		return garden.ContainerMetricsEntry{Metrics: m, Err: err}
	}), nil
}

// bulk gets a value of each handle's container; a handle's error goes in
// its entry.
func bulk[V, E any](a *Backend, handles []string, get func(garden.Container) (V, error), entry func(V, *garden.Error) E) map[string]E {
	out := map[string]E{}
	for _, h := range handles {
		var v V
		c, err := a.Lookup(h)
		if err == nil {
			v, err = get(c)
		}
		var gerr *garden.Error
		if err != nil {
			gerr = &garden.Error{Err: err}
		}
		out[h] = entry(v, gerr)
	}
	return out
}

// Lookup implements garden.Client.
func (a *Backend) Lookup(handle string) (garden.Container, error) {
	c, err := a.b.Lookup(context.Background(), handle)
	if err != nil {
		return nil, gardenErr(err, handle)
	}
	return &Container{c: c}, nil
}

// gardenErr turns container.ErrNotFound into garden.ContainerNotFoundError
// (the one error type the Garden protocol carries, as a 404); other errors
// keep their message.
func gardenErr(err error, handle string) error {
	if errors.Is(err, container.ErrNotFound) {
		return garden.ContainerNotFoundError{Handle: handle}
	}
	return err
}
