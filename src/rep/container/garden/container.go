package garden

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	gardenapi "code.cloudfoundry.org/garden"

	"github.com/diego-go/diego/src/rep/container"
)

// Container is one container on the Garden server.
type Container struct {
	b  *Backend
	gc gardenapi.Container
}

var _ container.Container = (*Container)(nil)

// Handle implements container.Container.
func (c *Container) Handle() string { return c.gc.Handle() }

// Info implements container.Container.
func (c *Container) Info(ctx context.Context) (container.Info, error) {
	gi, err := call(ctx, c.gc.Info)
	if err != nil {
		return container.Info{}, c.b.mapErr("info", c.Handle(), err)
	}
	hostIP := gi.ExternalIP
	if hostIP == "" {
		hostIP = gi.HostIP
	}
	ports := make([]container.PortMapping, len(gi.MappedPorts))
	for i, m := range gi.MappedPorts {
		ports[i] = container.PortMapping{ContainerPort: m.ContainerPort, HostPort: m.HostPort}
	}
	return container.Info{
		Handle:      c.Handle(),
		State:       gi.State,
		HostIP:      hostIP,
		ContainerIP: gi.ContainerIP,
		Ports:       ports,
		Properties:  userProperties(gi.Properties),
		OOMKilled:   slices.ContainsFunc(gi.Events, isOOMEvent),
	}, nil
}

// isOOMEvent matches garden-runc's "Out of memory" event (and "oom", as the
// Garden API documents it).
func isOOMEvent(e string) bool {
	e = strings.ToLower(e)
	return strings.Contains(e, "out of memory") || e == "oom"
}

// Run implements container.Container.
// Processes get the executor's networking variables (container.NetworkEnv)
// after their own.
func (c *Container) Run(ctx context.Context, spec container.ProcessSpec, pio container.ProcessIO) (container.Process, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return nil, err
	}
	gspec := gardenapi.ProcessSpec{
		Path: spec.Path,
		Args: slices.Clone(spec.Args),
		Env:  append(slices.Clone(spec.Env), container.NetworkEnv(info.HostIP, info.ContainerIP, info.Ports)...),
		Dir:  spec.Dir,
		User: spec.User,
	}
	if spec.NoFile > 0 {
		nofile := spec.NoFile
		gspec.Limits.Nofile = &nofile
	}
	gio := gardenapi.ProcessIO{Stdin: pio.Stdin, Stdout: pio.Stdout, Stderr: pio.Stderr}
	p, err := call(ctx, func() (gardenapi.Process, error) { return c.gc.Run(gspec, gio) })
	if err != nil {
		return nil, c.b.mapErr("run "+spec.Path+" in", c.Handle(), err)
	}
	return &process{p: p}, nil
}

// StreamIn implements container.Container.
func (c *Container) StreamIn(ctx context.Context, dir string, tarStream io.Reader) error {
	return c.StreamInAs(ctx, "", dir, tarStream)
}

// StreamInAs implements container.UserStreamer: Garden extracts the
// stream as user ("" = its default).
func (c *Container) StreamInAs(ctx context.Context, user, dir string, tarStream io.Reader) error {
	err := call0(ctx, func() error {
		return c.gc.StreamIn(gardenapi.StreamInSpec{Path: dir, User: user, TarStream: tarStream})
	})
	if err != nil {
		return c.b.mapErr("stream in to "+dir+" of", c.Handle(), err)
	}
	return nil
}

// StreamOut implements container.Container.
func (c *Container) StreamOut(ctx context.Context, path string) (io.ReadCloser, error) {
	rc, err := call(ctx, func() (io.ReadCloser, error) {
		return c.gc.StreamOut(gardenapi.StreamOutSpec{Path: path})
	})
	if err != nil {
		return nil, c.b.mapErr("stream out "+path+" of", c.Handle(), err)
	}
	return rc, nil
}

// Stop implements container.Container; the grace period is the server's
// (garden-runc: 10 s).
func (c *Container) Stop(ctx context.Context, kill bool) error {
	if err := call0(ctx, func() error { return c.gc.Stop(kill) }); err != nil {
		return c.b.mapErr("stop", c.Handle(), err)
	}
	return nil
}

// Metrics implements container.Container. The limits are read from the
// properties set at create; ProcessCount is the server's current pid count.
func (c *Container) Metrics(ctx context.Context) (container.Metrics, error) {
	gm, err := call(ctx, c.gc.Metrics)
	if err != nil {
		return container.Metrics{}, c.b.mapErr("metrics", c.Handle(), err)
	}
	props, err := call(ctx, c.gc.Properties)
	if err != nil {
		return container.Metrics{}, c.b.mapErr("properties", c.Handle(), err)
	}
	m := container.Metrics{
		MemoryBytes:  gm.MemoryStat.TotalUsageTowardLimit,
		DiskBytes:    gm.DiskStat.TotalBytesUsed,
		CPUTime:      time.Duration(gm.CPUStat.Usage),
		ProcessCount: int(gm.PidStat.Current),
		MemoryLimit:  parseUint(props[memoryLimitProperty]),
		DiskLimit:    parseUint(props[diskLimitProperty]),
	}
	if gm.NetworkStat != nil {
		m.RxBytes, m.TxBytes = gm.NetworkStat.RxBytes, gm.NetworkStat.TxBytes
	}
	return m, nil
}

func parseUint(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// process is a process started through the Garden server.
type process struct {
	p gardenapi.Process
}

func (p *process) ID() string { return p.p.ID() }

// Wait implements container.Process.
func (p *process) Wait() (int, error) {
	status, err := p.p.Wait()
	if err != nil {
		return status, fmt.Errorf("garden process %s: %w", p.p.ID(), err)
	}
	return status, nil
}

// Signal implements container.Process: SIGTERM and SIGKILL only.
func (p *process) Signal(sig os.Signal) error {
	var gs gardenapi.Signal
	switch sig {
	case syscall.SIGTERM:
		gs = gardenapi.SignalTerminate
	case syscall.SIGKILL:
		gs = gardenapi.SignalKill
	default:
		return fmt.Errorf("garden process %s: signal %v: %w (the Garden protocol carries only SIGTERM and SIGKILL)", p.p.ID(), sig, errors.ErrUnsupported)
	}
	if err := p.p.Signal(gs); err != nil {
		return fmt.Errorf("garden process %s: signal %v: %w", p.p.ID(), sig, err)
	}
	return nil
}
