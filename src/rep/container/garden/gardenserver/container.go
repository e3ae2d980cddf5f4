package gardenserver

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"code.cloudfoundry.org/garden"

	"github.com/diego-go/diego/src/rep/container"
)

// Container is a garden.Container over a container.Container.
type Container struct {
	c container.Container
}

var _ garden.Container = (*Container)(nil)

// Handle implements garden.Container.
func (g *Container) Handle() string { return g.c.Handle() }

func (g *Container) err(err error) error { return gardenErr(err, g.c.Handle()) }

// Stop implements garden.Container.
func (g *Container) Stop(kill bool) error {
	return g.err(g.c.Stop(context.Background(), kill))
}

// Info implements garden.Container. An OOM kill is the event "Out of
// memory", as garden-runc reports it.
func (g *Container) Info() (garden.ContainerInfo, error) {
	info, err := g.c.Info(context.Background())
	if err != nil {
		return garden.ContainerInfo{}, g.err(err)
	}
	gi := garden.ContainerInfo{
		State:       info.State,
		HostIP:      info.HostIP,
		ExternalIP:  info.HostIP,
		ContainerIP: info.ContainerIP,
		Properties:  info.Properties,
		MappedPorts: make([]garden.PortMapping, len(info.Ports)),
	}
	if gi.Properties == nil {
		gi.Properties = garden.Properties{}
	}
	for i, p := range info.Ports {
		gi.MappedPorts[i] = garden.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort}
	}
	if info.OOMKilled {
		gi.Events = []string{"Out of memory"}
	}
	return gi, nil
}

// StreamIn implements garden.Container (User is ignored).
func (g *Container) StreamIn(spec garden.StreamInSpec) error {
	return g.err(container.StreamInAs(context.Background(), g.c, spec.User, spec.Path, spec.TarStream))
}

// StreamOut implements garden.Container (User is ignored).
func (g *Container) StreamOut(spec garden.StreamOutSpec) (io.ReadCloser, error) {
	rc, err := g.c.StreamOut(context.Background(), spec.Path)
	return rc, g.err(err)
}

// CurrentBandwidthLimits implements garden.Container: none.
func (g *Container) CurrentBandwidthLimits() (garden.BandwidthLimits, error) {
	return garden.BandwidthLimits{}, nil
}

// CurrentCPULimits implements garden.Container: unknown, reported as none.
func (g *Container) CurrentCPULimits() (garden.CPULimits, error) {
	return garden.CPULimits{}, nil
}

// CurrentDiskLimits implements garden.Container.
func (g *Container) CurrentDiskLimits() (garden.DiskLimits, error) {
	m, err := g.c.Metrics(context.Background())
	if err != nil {
		return garden.DiskLimits{}, g.err(err)
	}
	return garden.DiskLimits{ByteHard: m.DiskLimit}, nil
}

// CurrentMemoryLimits implements garden.Container.
func (g *Container) CurrentMemoryLimits() (garden.MemoryLimits, error) {
	m, err := g.c.Metrics(context.Background())
	if err != nil {
		return garden.MemoryLimits{}, g.err(err)
	}
	return garden.MemoryLimits{LimitInBytes: m.MemoryLimit}, nil
}

// NetIn implements garden.Container: it reports the mapping made at create
// for containerPort (see the package doc).
func (g *Container) NetIn(hostPort, containerPort uint32) (uint32, uint32, error) {
	info, err := g.c.Info(context.Background())
	if err != nil {
		return 0, 0, g.err(err)
	}
	for _, p := range info.Ports {
		if p.ContainerPort == containerPort && (hostPort == 0 || hostPort == p.HostPort) {
			return p.HostPort, p.ContainerPort, nil
		}
	}
	return 0, 0, fmt.Errorf("net in %d:%d: mapping ports after create is %w: pass them in ContainerSpec.NetIn", hostPort, containerPort, errUnsupported)
}

// NetOut implements garden.Container: not supported.
func (g *Container) NetOut(garden.NetOutRule) error {
	return fmt.Errorf("net out: %w", errUnsupported)
}

// BulkNetOut implements garden.Container: only an empty list.
func (g *Container) BulkNetOut(rules []garden.NetOutRule) error {
	if len(rules) == 0 {
		return nil
	}
	return fmt.Errorf("net out: %w", errUnsupported)
}

// Run implements garden.Container. Stdin goes through an OS pipe, so the
// backend's process sees end of file when the client closes stdin, and
// waiting for it does not wait on the server's stdin stream.
func (g *Container) Run(spec garden.ProcessSpec, pio garden.ProcessIO) (garden.Process, error) {
	ps := container.ProcessSpec{Path: spec.Path, Args: spec.Args, Env: spec.Env, Dir: spec.Dir, User: spec.User}
	if spec.Limits.Nofile != nil {
		ps.NoFile = *spec.Limits.Nofile
	}
	cio := container.ProcessIO{Stdout: pio.Stdout, Stderr: pio.Stderr}
	var stdinW *os.File
	if pio.Stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
		defer r.Close() // the process has its own copy once started
		cio.Stdin, stdinW = r, w
	}
	p, err := g.c.Run(context.Background(), ps, cio)
	if err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		return nil, g.err(err)
	}
	if stdinW != nil {
		go func() {
			_, _ = io.Copy(stdinW, pio.Stdin)
			stdinW.Close()
		}()
	}
	return &process{p: p}, nil
}

// Attach implements garden.Container: not supported.
func (g *Container) Attach(processID string, _ garden.ProcessIO) (garden.Process, error) {
	return nil, fmt.Errorf("attach to process %s: %w", processID, errUnsupported)
}

// Metrics implements garden.Container.
func (g *Container) Metrics() (garden.Metrics, error) {
	m, err := g.c.Metrics(context.Background())
	if err != nil {
		return garden.Metrics{}, g.err(err)
	}
	return garden.Metrics{
		MemoryStat: garden.ContainerMemoryStat{
			TotalUsageTowardLimit:   m.MemoryBytes,
			TotalRss:                m.MemoryBytes,
			HierarchicalMemoryLimit: m.MemoryLimit,
		},
		CPUStat:     garden.ContainerCPUStat{Usage: uint64(m.CPUTime)},
		DiskStat:    garden.ContainerDiskStat{TotalBytesUsed: m.DiskBytes, ExclusiveBytesUsed: m.DiskBytes},
		NetworkStat: &garden.ContainerNetworkStat{RxBytes: m.RxBytes, TxBytes: m.TxBytes},
		PidStat:     garden.ContainerPidStat{Current: uint64(m.ProcessCount)},
	}, nil
}

// SetGraceTime implements garden.Container: accepted and ignored.
func (g *Container) SetGraceTime(time.Duration) error { return nil }

// Properties implements garden.Container.
func (g *Container) Properties() (garden.Properties, error) {
	info, err := g.c.Info(context.Background())
	if err != nil {
		return nil, g.err(err)
	}
	if info.Properties == nil {
		return garden.Properties{}, nil
	}
	return info.Properties, nil
}

// Property implements garden.Container.
func (g *Container) Property(name string) (string, error) {
	props, err := g.Properties()
	if err != nil {
		return "", err
	}
	v, ok := props[name]
	if !ok {
		return "", fmt.Errorf("property %q not found", name)
	}
	return v, nil
}

// SetProperty implements garden.Container: not supported.
func (g *Container) SetProperty(name, _ string) error {
	return fmt.Errorf("set property %q: properties are fixed at create: %w", name, errUnsupported)
}

// RemoveProperty implements garden.Container: not supported.
func (g *Container) RemoveProperty(name string) error {
	return fmt.Errorf("remove property %q: properties are fixed at create: %w", name, errUnsupported)
}

// process is a garden.Process over a container.Process.
type process struct {
	p container.Process
}

func (p *process) ID() string         { return p.p.ID() }
func (p *process) Wait() (int, error) { return p.p.Wait() }
func (p *process) SetTTY(garden.TTYSpec) error {
	return fmt.Errorf("tty: %w", errUnsupported)
}

// Signal implements garden.Process.
func (p *process) Signal(s garden.Signal) error {
	switch s {
	case garden.SignalTerminate:
		return p.p.Signal(syscall.SIGTERM)
	case garden.SignalKill:
		return p.p.Signal(syscall.SIGKILL)
	}
	return fmt.Errorf("signal %d: %w", s, errUnsupported)
}
