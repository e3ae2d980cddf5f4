// Package container declares what the rep needs from a container backend
// (process, runc, garden): create, run processes in, stream files into and
// out of, inspect and destroy containers. Every backend passes one contract
// suite (containertest).
package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Sentinel errors every backend maps its failures onto.
var (
	ErrNotFound      = errors.New("container: not found")
	ErrExists        = errors.New("container: handle already exists")
	ErrNoCapacity    = errors.New("container: not enough capacity")
	ErrRootFSMissing = errors.New("container: rootfs not found")
)

// PortMapping exposes a container port on the host.
type PortMapping struct {
	ContainerPort uint32
	HostPort      uint32
}

// Spec describes a container to create.
type Spec struct {
	Handle string // unique: the instance guid or task guid
	// RootFS is "preloaded:NAME" (a rootfs the backend knows by name) or, for
	// backends that support it, a path or URL. The process backend ignores
	// everything but the name.
	RootFS string
	Env    []string // KEY=VALUE, given to every process
	// Ports are container ports to expose; the backend allocates host ports
	// and reports them in Info.
	Ports      []uint32
	MemoryMB   int64 // 0 = unlimited
	DiskMB     int64 // 0 = unlimited
	MaxPids    int64 // 0 = unlimited
	CPUWeight  uint32
	Properties map[string]string // free-form labels, returned by Info
	// BindMounts make host files or directories visible inside the
	// container (instance identity credentials, trusted certificates).
	BindMounts []BindMount
	// EgressRules allow outbound traffic (Cloud Foundry's application
	// security groups); backends that enforce them deny everything else.
	EgressRules []EgressRule
}

// BindMount makes HostPath visible at ContainerPath inside the container.
type BindMount struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
}

// EgressRule allows outbound traffic, as a Cloud Foundry security group
// rule does.
type EgressRule struct {
	Protocol     string   // "tcp", "udp", "icmp" or "all"
	Destinations []string // CIDRs, addresses or "FIRST-LAST" ranges
	Ports        []uint32 // tcp/udp ports; empty with no PortRange = all
	PortRange    *[2]uint32
	ICMPType     int32 // icmp only; -1 = any
	ICMPCode     int32 // icmp only; -1 = any
	Log          bool
}

// ProcessSpec describes a process to run in a container.
type ProcessSpec struct {
	Path string
	Args []string
	Env  []string // appended to the container's Env
	Dir  string   // working directory inside the container ("" = the container's home)
	User string
	// Limits
	NoFile uint64
}

// ProcessIO connects a process's standard streams (nil = discarded).
type ProcessIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Process is a process running in a container.
type Process interface {
	ID() string
	// Wait blocks until the process exits and returns its exit status
	// (128+signal when killed by a signal).
	Wait() (int, error)
	// Signal sends sig to the process. A backend whose runtime forwards only
	// SIGTERM and SIGKILL (garden) fails other signals with an error
	// wrapping errors.ErrUnsupported.
	Signal(sig os.Signal) error
}

// ExitNotifier is a Process that also tells, through a channel, when it has
// exited (Wait then returns at once): the rep waits on it without a
// goroutine per process.
type ExitNotifier interface {
	Exited() <-chan struct{}
}

// Info describes a container.
type Info struct {
	Handle      string
	State       string // "active" or "stopped"
	HostIP      string // address the mapped ports answer on
	ContainerIP string
	Ports       []PortMapping
	Properties  map[string]string
	// OOMKilled reports that a process was killed for exceeding the memory limit.
	OOMKilled bool
}

// Metrics are a container's resource usage.
type Metrics struct {
	MemoryBytes  uint64
	DiskBytes    uint64
	CPUTime      time.Duration
	RxBytes      uint64
	TxBytes      uint64
	ProcessCount int
	MemoryLimit  uint64
	DiskLimit    uint64
}

// Container is one container.
type Container interface {
	Handle() string
	Info(ctx context.Context) (Info, error)
	// Run starts a process; it returns once the process has started.
	Run(ctx context.Context, spec ProcessSpec, pio ProcessIO) (Process, error)
	// StreamIn extracts the tar stream into dir inside the container.
	StreamIn(ctx context.Context, dir string, tarStream io.Reader) error
	// StreamOut returns a tar stream of path inside the container.
	StreamOut(ctx context.Context, path string) (io.ReadCloser, error)
	// Stop signals every process (SIGTERM, then SIGKILL after a grace period;
	// at once when kill is true) and waits for them to exit.
	Stop(ctx context.Context, kill bool) error
	Metrics(ctx context.Context) (Metrics, error)
}

// UserStreamer is implemented by containers that have users of their own
// (runc, garden): StreamInAs is StreamIn with what is streamed in owned by
// user, as Diego's download action asks.
type UserStreamer interface {
	StreamInAs(ctx context.Context, user, dir string, tarStream io.Reader) error
}

// StreamInAs streams into c as user where c supports it (UserStreamer),
// and with StreamIn otherwise (the process backend has one user).
func StreamInAs(ctx context.Context, c Container, user, dir string, tarStream io.Reader) error {
	if us, ok := c.(UserStreamer); ok && user != "" {
		return us.StreamInAs(ctx, user, dir, tarStream)
	}
	return c.StreamIn(ctx, dir, tarStream)
}

// Capacity is what a backend can host.
type Capacity struct {
	MemoryMB      int64
	DiskMB        int64
	MaxContainers int
}

// BackendConfig is a backend's config as its New sees it: defaults to fill
// and checks to pass.
type BackendConfig[C any] interface {
	WithDefaults() C
	Validate() error
}

// Configure fills cfg's defaults and validates it, the first step of every
// backend's New; an error names the backend's config.
func Configure[C BackendConfig[C]](backend string, cfg C) (C, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s backend config: %w", backend, err)
	}
	return cfg, nil
}

// Backend creates and tracks containers.
type Backend interface {
	Create(ctx context.Context, spec Spec) (Container, error)
	Lookup(ctx context.Context, handle string) (Container, error)
	// Destroy stops every process, releases ports and removes the container's
	// files. Destroying an unknown handle returns ErrNotFound.
	Destroy(ctx context.Context, handle string) error
	Containers(ctx context.Context) ([]Container, error)
	Capacity(ctx context.Context) (Capacity, error)
}
