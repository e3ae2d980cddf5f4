package garden_test

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gardenapi "code.cloudfoundry.org/garden"
	"code.cloudfoundry.org/garden/gardenfakes"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/garden"
	"github.com/diego-go/diego/src/rep/container/garden/gardenserver"
)

func TestPingServerDown(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "garden.sock")
	b := newClient(t, sock)
	err := b.Ping(t.Context())
	if err == nil {
		t.Fatal("Ping with no server succeeded")
	}
	for _, want := range []string{"garden server at unix://" + sock + " is not answering", "is garden-runc running?"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Ping error %q does not say %q", err, want)
		}
	}
	if _, err := b.Create(t.Context(), container.Spec{Handle: "h", RootFS: "preloaded:cflinuxfs4"}); err == nil {
		t.Error("Create with no server succeeded")
	}
}

// fakeServer serves a gardenfakes backend, for what a process backend
// cannot produce (garden-runc's messages, OOM events, a server ignoring
// ContainerSpec.NetIn).
func fakeServer(t *testing.T) (*gardenfakes.FakeBackend, *garden.Backend) {
	t.Helper()
	fb := &gardenfakes.FakeBackend{}
	return fb, newClient(t, startServer(t, fb))
}

func fakeContainer(handle string) *gardenfakes.FakeContainer {
	fc := &gardenfakes.FakeContainer{}
	fc.HandleReturns(handle)
	return fc
}

func TestErrorMapping(t *testing.T) {
	fb, b := fakeServer(t)
	ctx := t.Context()
	spec := container.Spec{Handle: "h", RootFS: "preloaded:cflinuxfs4"}
	for msg, want := range map[string]error{
		"Handle 'h' already in use":                       container.ErrExists,
		"container: handle already exists: h":             container.ErrExists,
		"insufficient subnets remaining in the pool":      container.ErrNoCapacity,
		"container: not enough capacity: 250 containers":  container.ErrNoCapacity,
		"container: rootfs not found: \"preloaded:nope\"": container.ErrRootFSMissing,
	} {
		fb.CreateReturns(nil, errors.New(msg))
		_, err := b.Create(ctx, spec)
		if !errors.Is(err, want) || !strings.Contains(err.Error(), msg) {
			t.Errorf("server says %q: Create error %v, want %v keeping the message", msg, err, want)
		}
	}
	fb.CreateReturns(nil, errors.New("disk on fire"))
	if _, err := b.Create(ctx, spec); err == nil || errors.Is(err, container.ErrExists) || errors.Is(err, container.ErrNoCapacity) {
		t.Errorf("an unknown error mapped to %v", err)
	}

	fb.DestroyReturns(gardenapi.ContainerNotFoundError{Handle: "gone"})
	if err := b.Destroy(ctx, "gone"); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("Destroy of an unknown handle: %v, want ErrNotFound", err)
	}
	if _, err := b.Lookup(ctx, "gone"); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("Lookup of an unknown handle: %v, want ErrNotFound", err)
	}
	// A container destroyed behind our back: Info on the handle we hold.
	fc := fakeContainer("h")
	fb.ContainersReturns([]gardenapi.Container{fc}, nil)
	c, err := b.Lookup(ctx, "h")
	if err != nil {
		t.Fatal(err)
	}
	fb.LookupReturns(nil, gardenapi.ContainerNotFoundError{Handle: "h"})
	if _, err := c.Info(ctx); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("Info of a destroyed container: %v, want ErrNotFound", err)
	}
}

func TestCreateSpec(t *testing.T) {
	fb, b := fakeServer(t)
	fc := fakeContainer("h")
	fc.InfoReturns(gardenapi.ContainerInfo{MappedPorts: []gardenapi.PortMapping{{HostPort: 61001, ContainerPort: 8080}}}, nil)
	fb.CreateReturns(fc, nil)
	fb.LookupReturns(fc, nil)
	_, err := b.Create(t.Context(), container.Spec{
		Handle: "h", RootFS: "preloaded:cflinuxfs4", Env: []string{"A=1"}, Ports: []uint32{8080},
		MemoryMB: 64, DiskMB: 128, MaxPids: 100, CPUWeight: 50, Properties: map[string]string{"app": "a1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	gs := fb.CreateArgsForCall(0)
	if gs.Handle != "h" || gs.Image.URI != cflinuxfs4 || len(gs.Env) != 1 || gs.Env[0] != "A=1" {
		t.Errorf("spec %+v: want handle, mapped rootfs and env", gs)
	}
	if l := gs.Limits; l.Memory.LimitInBytes != 64<<20 || l.Disk.ByteHard != 128<<20 || l.Pid.Max != 100 || l.CPU.LimitInShares != 512 {
		t.Errorf("limits %+v", l)
	}
	if len(gs.NetIn) != 1 || gs.NetIn[0] != (gardenapi.NetIn{ContainerPort: 8080}) {
		t.Errorf("NetIn %+v, want the container port with host port 0", gs.NetIn)
	}
	if gs.Properties["app"] != "a1" || gs.Properties[garden.OwnerProperty] != "test-rep" {
		t.Errorf("properties %v: want the caller's and the owner", gs.Properties)
	}
	if n := fc.NetInCallCount(); n != 0 {
		t.Errorf("NetIn called %d times for a port mapped at create", n)
	}

	// Rootfses: an unmapped preloaded name fails without asking the server;
	// anything else is passed as is.
	if _, err := b.Create(t.Context(), container.Spec{Handle: "x", RootFS: "preloaded:cflinuxfs3"}); !errors.Is(err, container.ErrRootFSMissing) {
		t.Errorf("unmapped preloaded rootfs: %v, want ErrRootFSMissing", err)
	}
	if _, err := b.Create(t.Context(), container.Spec{Handle: "y", RootFS: "docker:///cloudfoundry/cflinuxfs4"}); err != nil {
		t.Fatal(err)
	}
	if n := fb.CreateCallCount(); n != 2 || fb.CreateArgsForCall(1).Image.URI != "docker:///cloudfoundry/cflinuxfs4" {
		t.Errorf("docker rootfs: %d creates, last %q", n, fb.CreateArgsForCall(n-1).Image.URI)
	}
}

func TestPortsNotMappedAtCreateAreAskedFor(t *testing.T) {
	fb, b := fakeServer(t)
	fc := fakeContainer("h")
	fc.InfoReturns(gardenapi.ContainerInfo{MappedPorts: []gardenapi.PortMapping{{HostPort: 61001, ContainerPort: 8080}}}, nil)
	fc.NetInReturns(61002, 2222, nil)
	fb.CreateReturns(fc, nil)
	fb.LookupReturns(fc, nil)
	if _, err := b.Create(t.Context(), container.Spec{Handle: "h", RootFS: "preloaded:cflinuxfs4", Ports: []uint32{8080, 2222}}); err != nil {
		t.Fatal(err)
	}
	if n := fc.NetInCallCount(); n != 1 {
		t.Fatalf("NetIn called %d times, want once (for 2222)", n)
	}
	if h, c := fc.NetInArgsForCall(0); h != 0 || c != 2222 {
		t.Errorf("NetIn(%d, %d), want NetIn(0, 2222)", h, c)
	}

	// If NetIn fails the container is destroyed.
	fc.NetInReturns(0, 0, errors.New("no ports left"))
	if _, err := b.Create(t.Context(), container.Spec{Handle: "h", RootFS: "preloaded:cflinuxfs4", Ports: []uint32{8080, 2222}}); err == nil {
		t.Fatal("Create succeeded though NetIn failed")
	}
	if n := fb.DestroyCallCount(); n != 1 || fb.DestroyArgsForCall(0) != "h" {
		t.Errorf("%d destroys after a failed NetIn, want 1 of h", n)
	}
}

func TestInfoOOMAndMetrics(t *testing.T) {
	fb, b := fakeServer(t)
	fc := fakeContainer("h")
	fb.ContainersReturns([]gardenapi.Container{fc}, nil)
	fb.LookupReturns(fc, nil)
	c, err := b.Lookup(t.Context(), "h")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		events []string
		oom    bool
	}{
		{nil, false},
		{[]string{"Out of memory"}, true},
		{[]string{"something else", "out of memory"}, true},
		{[]string{"oom"}, true},
		{[]string{"exited"}, false},
	} {
		fc.InfoReturns(gardenapi.ContainerInfo{
			State: "active", Events: tc.events, HostIP: "10.254.0.1", ExternalIP: "10.0.16.5", ContainerIP: "10.254.0.2",
			Properties: gardenapi.Properties{"app": "a1", garden.OwnerProperty: "test-rep"},
		}, nil)
		info, err := c.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.OOMKilled != tc.oom {
			t.Errorf("events %q: OOMKilled %v, want %v", tc.events, info.OOMKilled, tc.oom)
		}
		if info.HostIP != "10.0.16.5" || info.ContainerIP != "10.254.0.2" {
			t.Errorf("HostIP %q ContainerIP %q: want the external IP and the container IP", info.HostIP, info.ContainerIP)
		}
		if !maps.Equal(info.Properties, map[string]string{"app": "a1"}) {
			t.Errorf("properties %v: want the internal ones dropped", info.Properties)
		}
	}

	fc.MetricsReturns(gardenapi.Metrics{
		MemoryStat:  gardenapi.ContainerMemoryStat{TotalUsageTowardLimit: 1000},
		DiskStat:    gardenapi.ContainerDiskStat{TotalBytesUsed: 2000},
		CPUStat:     gardenapi.ContainerCPUStat{Usage: 3e9},
		NetworkStat: &gardenapi.ContainerNetworkStat{RxBytes: 4, TxBytes: 5},
		PidStat:     gardenapi.ContainerPidStat{Current: 6},
	}, nil)
	fc.PropertiesReturns(gardenapi.Properties{"diego-go.memory-limit-bytes": "67108864", "diego-go.disk-limit-bytes": "134217728"}, nil)
	m, err := c.Metrics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := container.Metrics{MemoryBytes: 1000, DiskBytes: 2000, CPUTime: 3 * time.Second, RxBytes: 4, TxBytes: 5, ProcessCount: 6, MemoryLimit: 64 << 20, DiskLimit: 128 << 20}
	if m != want {
		t.Errorf("Metrics = %+v, want %+v", m, want)
	}
}

func TestContainersOnlyOwn(t *testing.T) {
	sock := startServer(t, gardenserver.New(newProcessBackend(t)))
	mine := newClient(t, sock)
	theirs := newClient(t, sock, func(c *garden.Config) { c.Owner = "other-rep" })
	ctx := t.Context()
	for _, h := range []string{"m-2", "m-1"} {
		if _, err := mine.Create(ctx, container.Spec{Handle: h, RootFS: "preloaded:cflinuxfs4"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := theirs.Create(ctx, container.Spec{Handle: "t-1", RootFS: "preloaded:cflinuxfs4"}); err != nil {
		t.Fatal(err)
	}
	for b, want := range map[*garden.Backend]string{mine: "m-1 m-2", theirs: "t-1"} {
		cs, err := b.Containers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var hs []string
		for _, c := range cs {
			hs = append(hs, c.Handle())
		}
		if got := strings.Join(hs, " "); got != want {
			t.Errorf("owner %s: Containers = %q, want %q", b.Config().Owner, got, want)
		}
	}
}

func TestSignalsOtherThanTermAndKillAreUnsupported(t *testing.T) {
	b := newBackend(t)
	c, err := b.Create(t.Context(), container.Spec{Handle: "sig", RootFS: "preloaded:cflinuxfs4"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Run(t.Context(), container.ProcessSpec{Path: "sleep", Args: []string{"100"}}, container.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGHUP); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Signal(HUP): %v, want ErrUnsupported", err)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); status != 137 || err != nil {
		t.Errorf("after KILL: %d, %v", status, err)
	}
}

func TestStdinReachesTheProcess(t *testing.T) {
	b := newBackend(t)
	c, err := b.Create(t.Context(), container.Spec{Handle: "stdin", RootFS: "preloaded:cflinuxfs4"})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	p, err := c.Run(t.Context(), container.ProcessSpec{Path: "cat"}, container.ProcessIO{Stdin: strings.NewReader("piped\n"), Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); status != 0 || err != nil || out.String() != "piped\n" {
		t.Errorf("cat: %d, %v, output %q", status, err, out.String())
	}
}

func TestContextEndsACall(t *testing.T) {
	b := newBackend(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Capacity(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Capacity with a cancelled ctx: %v", err)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		in               garden.Config
		network, address string
		ok               bool
	}{
		{garden.Config{}, "unix", garden.DefaultAddress, true},
		{garden.Config{Address: "unix:///var/vcap/data/garden/garden.sock"}, "unix", "/var/vcap/data/garden/garden.sock", true},
		{garden.Config{Address: "tcp://127.0.0.1:7777"}, "tcp", "127.0.0.1:7777", true},
		{garden.Config{Network: "tcp", Address: "127.0.0.1:7777"}, "tcp", "127.0.0.1:7777", true},
		{garden.Config{Network: "tcp"}, "tcp", "", false},
		{garden.Config{Network: "udp", Address: "127.0.0.1:7777"}, "udp", "127.0.0.1:7777", false},
		{garden.Config{Address: "relative.sock"}, "unix", "relative.sock", false},
		{garden.Config{DefaultRootFS: map[string]string{"cflinuxfs4": ""}}, "unix", garden.DefaultAddress, false},
	} {
		cfg := tc.in.WithDefaults()
		err := cfg.Validate()
		if cfg.Network != tc.network || cfg.Address != tc.address || (err == nil) != tc.ok {
			t.Errorf("%+v: network %q address %q err %v; want %q %q ok=%v", tc.in, cfg.Network, cfg.Address, err, tc.network, tc.address, tc.ok)
		}
		if cfg.Owner != garden.DefaultOwner {
			t.Errorf("owner %q, want the default", cfg.Owner)
		}
	}
	if _, err := garden.New(garden.Config{Network: "udp"}); err == nil {
		t.Error("New accepted an invalid config")
	}
}
