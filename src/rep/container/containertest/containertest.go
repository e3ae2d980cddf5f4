// Package containertest is the contract suite every container backend
// (process, runc, garden) passes: Run(t, newBackend).
//
// The suite only uses /bin/sh, sleep, cat, kill and a small static Go helper
// program it builds and streams into containers. Paths given to the backend
// (StreamIn, StreamOut, ProcessSpec.Dir) are container paths under /suite;
// commands use paths relative to their working directory, so they mean the
// same thing with and without a mount namespace. Processes are told to listen
// on PORT set to the requested container port, as Diego does; a backend
// without network isolation rewrites PORT (see the process backend).
package containertest

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/container"
)

// RootFS is the rootfs every container of the suite asks for; a backend
// under test must accept it.
const RootFS = "preloaded:cflinuxfs4"

// Run runs the contract suite. newBackend returns a fresh, empty backend
// (called once per subtest, sequentially); the suite destroys what it creates.
func Run(t *testing.T, newBackend func(t *testing.T) container.Backend, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, b container.Backend)
	}{
		{"CreateLookup", testCreateLookup},
		{"Info", testInfo},
		{"RunEnvArgsDirOutput", testRunEnvArgsDirOutput},
		{"ExitStatus", testExitStatus},
		{"Signal", testSignal},
		{"StopTermThenKill", testStopTermThenKill},
		{"StopKill", testStopKill},
		{"PortReachable", testPortReachable},
		{"StreamInOut", testStreamInOut},
		{"Metrics", testMetrics},
		{"Containers", testContainers},
		{"Destroy", testDestroy},
		{"Capacity", testCapacity},
		{"BindMount", func(t *testing.T, b container.Backend) { testBindMount(t, b, o) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBackend(t)) })
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// create makes a container destroyed at cleanup (an already destroyed one is fine).
func create(t *testing.T, b container.Backend, spec container.Spec) container.Container {
	t.Helper()
	if spec.RootFS == "" {
		spec.RootFS = RootFS
	}
	c, err := b.Create(ctxT(t, 30*time.Second), spec)
	if err != nil {
		t.Fatalf("Create(%s): %v", spec.Handle, err)
	}
	t.Cleanup(func() {
		err := b.Destroy(context.Background(), spec.Handle)
		if err != nil && !errors.Is(err, container.ErrNotFound) {
			t.Errorf("Destroy(%s) at cleanup: %v", spec.Handle, err)
		}
	})
	return c
}

type result struct {
	status         int
	stdout, stderr string
}

type running struct {
	p              container.Process
	stdout, stderr *testutil.SyncBuffer
}

func start(t *testing.T, c container.Container, spec container.ProcessSpec) *running {
	t.Helper()
	r := &running{stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}}
	p, err := c.Run(ctxT(t, 30*time.Second), spec, container.ProcessIO{Stdout: r.stdout, Stderr: r.stderr})
	if err != nil {
		t.Fatalf("Run(%s %v): %v", spec.Path, spec.Args, err)
	}
	if p.ID() == "" {
		t.Errorf("process has an empty ID")
	}
	r.p = p
	return r
}

// wait waits (bounded) for the process's exit.
func (r *running) wait(t *testing.T, within time.Duration) result {
	t.Helper()
	type ws struct {
		status int
		err    error
	}
	ch := make(chan ws, 1)
	go func() { s, err := r.p.Wait(); ch <- ws{s, err} }()
	select {
	case w := <-ch:
		if w.err != nil {
			t.Fatalf("Wait: %v", w.err)
		}
		if n, ok := r.p.(container.ExitNotifier); ok {
			select {
			case <-n.Exited():
			default:
				t.Fatalf("Wait returned but Exited() is not closed (container.ExitNotifier)")
			}
		}
		return result{w.status, r.stdout.String(), r.stderr.String()}
	case <-time.After(within):
		t.Fatalf("process did not exit within %v (stdout %q, stderr %q)", within, r.stdout.String(), r.stderr.String())
		return result{}
	}
}

func sh(script string, args ...string) container.ProcessSpec {
	return container.ProcessSpec{Path: "/bin/sh", Args: append([]string{"-c", script, "sh"}, args...)}
}

func runSh(t *testing.T, c container.Container, dir, script string) result {
	t.Helper()
	spec := sh(script)
	spec.Dir = dir
	return start(t, c, spec).wait(t, 30*time.Second)
}

// waitFor polls cond every 20 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func streamIn(t *testing.T, c container.Container, dir string, tarball []byte) {
	t.Helper()
	if err := c.StreamIn(ctxT(t, 30*time.Second), dir, strings.NewReader(string(tarball))); err != nil {
		t.Fatalf("StreamIn(%s): %v", dir, err)
	}
}

func mkdir(t *testing.T, c container.Container, dir string) {
	t.Helper()
	streamIn(t, c, dir, tarOf(t, tarFile{name: "./", dir: true}))
}

// withHelper streams the helper program into /suite/bin.
func withHelper(t *testing.T, c container.Container) {
	t.Helper()
	streamIn(t, c, "/suite/bin", HelperTar(t))
}

func testCreateLookup(t *testing.T, b container.Backend) {
	ctx := ctxT(t, 30*time.Second)
	c := create(t, b, container.Spec{Handle: "h-1"})
	if c.Handle() != "h-1" {
		t.Errorf("Handle() = %q", c.Handle())
	}
	got, err := b.Lookup(ctx, "h-1")
	if err != nil || got.Handle() != "h-1" {
		t.Fatalf("Lookup(h-1) = %v, %v", got, err)
	}
	if _, err := b.Create(ctx, container.Spec{Handle: "h-1", RootFS: RootFS}); !errors.Is(err, container.ErrExists) {
		t.Errorf("second Create(h-1): %v, want ErrExists", err)
	}
	if _, err := b.Lookup(ctx, "unknown"); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("Lookup(unknown): %v, want ErrNotFound", err)
	}
	if err := b.Destroy(ctx, "unknown"); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("Destroy(unknown): %v, want ErrNotFound", err)
	}
}

func testInfo(t *testing.T, b container.Backend) {
	props := map[string]string{"owner": "suite", "app": "a1"}
	c := create(t, b, container.Spec{Handle: "info", Ports: []uint32{8080, 9090, 2222}, Properties: props, MemoryMB: 32})
	info, err := c.Info(ctxT(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if info.Handle != "info" || info.State != "active" {
		t.Errorf("handle %q state %q, want info/active", info.Handle, info.State)
	}
	for k, v := range props {
		if info.Properties[k] != v {
			t.Errorf("property %s = %q, want %q", k, info.Properties[k], v)
		}
	}
	if net.ParseIP(info.HostIP) == nil {
		t.Errorf("HostIP %q is not an IP", info.HostIP)
	}
	if len(info.Ports) != 3 {
		t.Fatalf("ports %v, want 3 mappings", info.Ports)
	}
	seen := map[uint32]bool{}
	for i, want := range []uint32{8080, 9090, 2222} {
		m := info.Ports[i]
		if m.ContainerPort != want || m.HostPort == 0 || seen[m.HostPort] {
			t.Errorf("mapping %d = %+v: want container port %d and a distinct host port", i, m, want)
		}
		seen[m.HostPort] = true
	}
	props["owner"] = "changed"
	if info2, _ := c.Info(t.Context()); info2.Properties["owner"] != "suite" {
		t.Errorf("Info shares the caller's properties map")
	}
}

func testRunEnvArgsDirOutput(t *testing.T, b container.Backend) {
	c := create(t, b, container.Spec{Handle: "run", Env: []string{"A=1", "B=container"}})
	mkdir(t, c, "/suite/wd")
	spec := sh(`echo "$A $B $C $1 $2"; pwd; echo oops >&2; exit 3`, "arg 1", "arg2")
	spec.Env = []string{"B=process", "C=3"}
	spec.Dir = "/suite/wd"
	r := start(t, c, spec).wait(t, 30*time.Second)
	lines := strings.Split(r.stdout, "\n")
	if len(lines) < 2 || lines[0] != "1 process 3 arg 1 arg2" || !strings.HasSuffix(lines[1], "/suite/wd") {
		t.Errorf("stdout %q: want env, args and working dir", r.stdout)
	}
	if r.stderr != "oops\n" || r.status != 3 {
		t.Errorf("stderr %q status %d, want oops and 3", r.stderr, r.status)
	}
	// A bare command name is found through PATH.
	if r := start(t, c, container.ProcessSpec{Path: "sleep", Args: []string{"0"}}).wait(t, 30*time.Second); r.status != 0 {
		t.Errorf("sleep 0 exited %d", r.status)
	}
}

func testExitStatus(t *testing.T, b container.Backend) {
	c := create(t, b, container.Spec{Handle: "exit"})
	for script, want := range map[string]int{"exit 0": 0, "exit 7": 7, "kill -9 $$": 137, "kill -TERM $$": 143} {
		if r := runSh(t, c, "", script); r.status != want {
			t.Errorf("%q exited %d, want %d", script, r.status, want)
		}
	}
}

func testSignal(t *testing.T, b container.Backend) {
	c := create(t, b, container.Spec{Handle: "signal"})
	r := start(t, c, sh(`trap 'echo got-usr1; exit 5' USR1; echo ready; while :; do sleep 0.05; done`))
	waitFor(t, 10*time.Second, "ready", func() bool { return strings.Contains(r.stdout.String(), "ready") })
	switch err := r.p.Signal(syscall.SIGUSR1); {
	case errors.Is(err, errors.ErrUnsupported): // the runtime forwards only TERM and KILL (garden)
		t.Logf("Signal(USR1): %v", err)
		if err := r.p.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("Signal(KILL): %v", err)
		}
		if res := r.wait(t, 10*time.Second); res.status != 137 {
			t.Errorf("after KILL: status %d, want 137", res.status)
		}
	case err != nil:
		t.Fatalf("Signal(USR1): %v", err)
	default:
		if res := r.wait(t, 10*time.Second); res.status != 5 || !strings.Contains(res.stdout, "got-usr1") {
			t.Errorf("after USR1: status %d stdout %q, want 5 and got-usr1", res.status, res.stdout)
		}
	}
	r = start(t, c, container.ProcessSpec{Path: "sleep", Args: []string{"100"}})
	if err := r.p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if res := r.wait(t, 10*time.Second); res.status != 143 {
		t.Errorf("sleep after SIGTERM exited %d, want 143", res.status)
	}
	// Wait may be called again.
	if s, err := r.p.Wait(); s != 143 || err != nil {
		t.Errorf("second Wait = %d, %v", s, err)
	}
}

func testStopTermThenKill(t *testing.T, b container.Backend) {
	c := create(t, b, container.Spec{Handle: "stop"})
	polite := start(t, c, container.ProcessSpec{Path: "sleep", Args: []string{"100"}})
	stubborn := start(t, c, sh(`trap '' TERM; echo ready; sleep 100; sleep 100`))
	waitFor(t, 10*time.Second, "ready", func() bool { return strings.Contains(stubborn.stdout.String(), "ready") })
	if err := c.Stop(ctxT(t, 60*time.Second), false); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if r := polite.wait(t, 5*time.Second); r.status != 143 {
		t.Errorf("sleep exited %d after Stop, want 143 (SIGTERM)", r.status)
	}
	if r := stubborn.wait(t, 5*time.Second); r.status != 137 {
		t.Errorf("TERM-ignoring process exited %d after Stop, want 137 (SIGKILL)", r.status)
	}
	info, err := c.Info(t.Context())
	if err != nil || info.State != "stopped" {
		t.Errorf("after Stop: state %q, %v; want stopped", info.State, err)
	}
	if m, err := c.Metrics(t.Context()); err != nil || m.ProcessCount != 0 {
		t.Errorf("after Stop: %d processes, %v", m.ProcessCount, err)
	}
}

func testStopKill(t *testing.T, b container.Backend) {
	c := create(t, b, container.Spec{Handle: "kill"})
	r := start(t, c, sh(`sleep 100 & sleep 100`))
	begin := time.Now()
	if err := c.Stop(ctxT(t, 60*time.Second), true); err != nil {
		t.Fatalf("Stop(kill): %v", err)
	}
	if res := r.wait(t, 5*time.Second); res.status != 137 {
		t.Errorf("exited %d after Stop(kill), want 137", res.status)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("Stop(kill) took %v", d)
	}
}

func hostAddr(info container.Info, i int) string {
	return net.JoinHostPort(info.HostIP, strconv.Itoa(int(info.Ports[i].HostPort)))
}

// listen starts the helper listening on PORT=containerPort in the background
// of a shell (so the listener is a grandchild) and waits until it answers.
func listen(t *testing.T, c container.Container, containerPort uint32) (container.Info, *running) {
	t.Helper()
	withHelper(t, c)
	spec := sh(`bin/helper listen & wait`)
	spec.Dir = "/suite"
	spec.Env = []string{"PORT=" + strconv.Itoa(int(containerPort))}
	r := start(t, c, spec)
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var line string
	waitFor(t, 15*time.Second, "the listener through "+hostAddr(info, 0), func() bool {
		line, err = ReadLine(hostAddr(info, 0))
		return err == nil
	})
	if !strings.HasPrefix(line, "hello ") {
		t.Errorf("listener said %q", line)
	}
	return info, r
}

func testPortReachable(t *testing.T, b container.Backend) {
	c := create(t, b, container.Spec{Handle: "ports", Ports: []uint32{8080}})
	listen(t, c, 8080)
}

func testStreamInOut(t *testing.T, b container.Backend) {
	c := create(t, b, container.Spec{Handle: "stream"})
	streamIn(t, c, "/suite/in", tarOf(t,
		tarFile{name: "data/", dir: true},
		tarFile{name: "data/hello.txt", body: "hi there\n"},
		tarFile{name: "data/run.sh", body: "#!/bin/sh\necho script ran\n", mode: 0o755},
	))
	if r := runSh(t, c, "/suite/in", `cat data/hello.txt && ./data/run.sh && echo produced > out.txt`); r.status != 0 || r.stdout != "hi there\nscript ran\n" {
		t.Fatalf("reading streamed-in files: status %d stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
	// A streamed-in program runs by its container path.
	if r := start(t, c, container.ProcessSpec{Path: "/suite/in/data/run.sh"}).wait(t, 30*time.Second); r.status != 0 || r.stdout != "script ran\n" {
		t.Errorf("running /suite/in/data/run.sh: status %d stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
	rc, err := c.StreamOut(ctxT(t, 30*time.Second), "/suite/in/out.txt")
	if err != nil {
		t.Fatalf("StreamOut: %v", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		t.Fatalf("StreamOut tar: %v", err)
	}
	body, _ := io.ReadAll(tr)
	if hdr.Name != "out.txt" || string(body) != "produced\n" {
		t.Errorf("StreamOut: entry %q body %q, want out.txt / produced", hdr.Name, body)
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("StreamOut of a file: more than one entry (%v)", err)
	}
	// A directory streams out under its name.
	rc2, err := c.StreamOut(t.Context(), "/suite/in/data")
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	var names []string
	tr = tar.NewReader(rc2)
	for {
		hdr, err := tr.Next()
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		names = append(names, strings.TrimSuffix(hdr.Name, "/"))
	}
	for _, want := range []string{"data", "data/hello.txt", "data/run.sh"} {
		if !slices.Contains(names, want) {
			t.Errorf("StreamOut(data) entries %v: missing %s", names, want)
		}
	}
	if rc, err := c.StreamOut(t.Context(), "/suite/missing"); err == nil {
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err == nil {
			t.Errorf("StreamOut of a missing path succeeded")
		}
	}
}

func testMetrics(t *testing.T, b container.Backend) {
	c := create(t, b, container.Spec{Handle: "metrics", MemoryMB: 256, DiskMB: 512})
	withHelper(t, c)
	start(t, c, container.ProcessSpec{Path: "sleep", Args: []string{"100"}})
	start(t, c, sh(`sleep 100 & sleep 100 & wait`))
	var m container.Metrics
	waitFor(t, 10*time.Second, "4 processes and memory in use", func() bool {
		var err error
		m, err = c.Metrics(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return m.ProcessCount >= 4 && m.MemoryBytes > 0
	})
	if m.MemoryLimit != 256<<20 || m.DiskLimit != 512<<20 {
		t.Errorf("limits %d/%d, want %d/%d", m.MemoryLimit, m.DiskLimit, 256<<20, 512<<20)
	}
	if m.DiskBytes == 0 {
		t.Errorf("DiskBytes = 0 after streaming in the helper")
	}
}

func handles(t *testing.T, b container.Backend) []string {
	t.Helper()
	cs, err := b.Containers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var hs []string
	for _, c := range cs {
		hs = append(hs, c.Handle())
	}
	slices.Sort(hs)
	return hs
}

func testContainers(t *testing.T, b container.Backend) {
	if hs := handles(t, b); len(hs) != 0 {
		t.Fatalf("new backend lists %v", hs)
	}
	for _, h := range []string{"c-b", "c-a", "c-c"} {
		create(t, b, container.Spec{Handle: h})
	}
	if hs := handles(t, b); !slices.Equal(hs, []string{"c-a", "c-b", "c-c"}) {
		t.Errorf("Containers = %v", hs)
	}
	if err := b.Destroy(t.Context(), "c-b"); err != nil {
		t.Fatal(err)
	}
	if hs := handles(t, b); !slices.Equal(hs, []string{"c-a", "c-c"}) {
		t.Errorf("after destroying c-b: Containers = %v", hs)
	}
}

func testDestroy(t *testing.T, b container.Backend) {
	ctx := ctxT(t, 60*time.Second)
	c := create(t, b, container.Spec{Handle: "doomed", Ports: []uint32{8080}})
	info, r := listen(t, c, 8080) // the listener is a grandchild
	start(t, c, sh(`trap '' TERM; sleep 100`))
	if err := b.Destroy(ctx, "doomed"); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	r.wait(t, 5*time.Second)
	if _, err := b.Lookup(ctx, "doomed"); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("Lookup after Destroy: %v, want ErrNotFound", err)
	}
	if err := b.Destroy(ctx, "doomed"); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("second Destroy: %v, want ErrNotFound", err)
	}
	if _, err := c.StreamOut(ctx, "/suite/bin/helper"); err == nil {
		t.Errorf("StreamOut after Destroy succeeded")
	}
	// The grandchild listener is gone and the host port is free.
	waitFor(t, 5*time.Second, "the listener to be gone", func() bool {
		_, err := ReadLine(hostAddr(info, 0))
		return err != nil
	})
	l, err := net.Listen("tcp", hostAddr(info, 0))
	if err != nil {
		t.Errorf("host port not free after Destroy: %v", err)
	} else {
		l.Close()
	}
	// The handle can be used again.
	c2 := create(t, b, container.Spec{Handle: "doomed", Ports: []uint32{8080}})
	listen(t, c2, 8080)
}

func testCapacity(t *testing.T, b container.Backend) {
	capy, err := b.Capacity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if capy.MemoryMB <= 0 || capy.DiskMB <= 0 || capy.MaxContainers <= 0 {
		t.Errorf("Capacity = %+v, want all positive", capy)
	}
}
