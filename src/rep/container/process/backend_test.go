package process_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/containertest"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/process"
)

// buf collects a process's stdout and stderr.
type buf = testutil.SyncBuffer

func run(t *testing.T, c container.Container, spec container.ProcessSpec) (int, string) {
	t.Helper()
	return containertest.RunOutput(t, c, spec)
}

func sh(script string) container.ProcessSpec {
	return container.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", script}}
}

func envOf(t *testing.T, c container.Container, procEnv ...string) map[string]string {
	t.Helper()
	spec := sh("env")
	spec.Env = procEnv
	_, out := run(t, c, spec)
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestEnvPortsAreHostPorts(t *testing.T) {
	b := newBackend(t)
	c, err := b.Create(t.Context(), container.Spec{Handle: "env", Ports: []uint32{8080, 2222}, Env: []string{"PORT=2222", "X=y"}})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := c.Info(t.Context())
	h1, h2 := info.Ports[0].HostPort, info.Ports[1].HostPort

	env := envOf(t, c)
	if env["PORT"] != fmt.Sprint(h2) || env["X"] != "y" {
		t.Errorf("container PORT=2222 became %q, want %d", env["PORT"], h2)
	}
	if env["CF_INSTANCE_PORT"] != fmt.Sprint(h1) || env["CF_INSTANCE_ADDR"] != fmt.Sprintf("127.0.0.1:%d", h1) || env["CF_INSTANCE_IP"] != "127.0.0.1" {
		t.Errorf("networking env %v", env)
	}
	var ports []map[string]uint32
	if err := json.Unmarshal([]byte(env["CF_INSTANCE_PORTS"]), &ports); err != nil || len(ports) != 2 ||
		ports[0]["internal"] != h1 || ports[0]["external"] != h1 || ports[1]["internal"] != h2 {
		t.Errorf("CF_INSTANCE_PORTS = %s (%v)", env["CF_INSTANCE_PORTS"], err)
	}
	if env := envOf(t, c, "PORT=8080"); env["PORT"] != fmt.Sprint(h1) {
		t.Errorf("process PORT=8080 became %q, want %d", env["PORT"], h1)
	}
	if env := envOf(t, c, "PORT=7777"); env["PORT"] != "7777" {
		t.Errorf("unmapped PORT=7777 became %q", env["PORT"])
	}
	if !strings.Contains(envOf(t, c)["PATH"], "/bin") {
		t.Errorf("no default PATH")
	}

	c2, _ := b.Create(t.Context(), container.Spec{Handle: "noports", Ports: []uint32{9000}})
	info2, _ := c2.Info(t.Context())
	if env := envOf(t, c2); env["PORT"] != fmt.Sprint(info2.Ports[0].HostPort) {
		t.Errorf("missing PORT became %q, want the first host port %d", env["PORT"], info2.Ports[0].HostPort)
	}
	c3, _ := b.Create(t.Context(), container.Spec{Handle: "none"})
	if env := envOf(t, c3); env["CF_INSTANCE_PORTS"] != "[]" || env["CF_INSTANCE_PORT"] != "" || env["PORT"] != "" {
		t.Errorf("no ports: %v", env)
	}
}

func TestPortsReleasedAndReused(t *testing.T) {
	b := newBackend(t, func(c *process.Config) { c.PortRangeEnd = c.PortRangeStart + 1 })
	ctx := t.Context()
	c, err := b.Create(ctx, container.Spec{Handle: "a", Ports: []uint32{8080, 8081}})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := c.Info(ctx)
	if _, err := b.Create(ctx, container.Spec{Handle: "b", Ports: []uint32{8080}}); !errors.Is(err, container.ErrNoCapacity) {
		t.Fatalf("range exhausted: %v, want ErrNoCapacity", err)
	}
	if _, err := b.Lookup(ctx, "b"); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("failed Create left a container: %v", err)
	}
	if err := b.Destroy(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	c, err = b.Create(ctx, container.Spec{Handle: "b", Ports: []uint32{8080, 8081}})
	if err != nil {
		t.Fatalf("ports not released: %v", err)
	}
	info2, _ := c.Info(ctx)
	got := map[uint32]bool{info2.Ports[0].HostPort: true, info2.Ports[1].HostPort: true}
	if !got[info.Ports[0].HostPort] || !got[info.Ports[1].HostPort] {
		t.Errorf("reused ports %v, want %v", info2.Ports, info.Ports)
	}
}

func TestMaxContainersAndRootFS(t *testing.T) {
	b := newBackend(t, func(c *process.Config) { c.MaxContainers = 2; c.RootFSes = []string{"cflinuxfs4"} })
	ctx := t.Context()
	for _, h := range []string{"a", "b"} {
		if _, err := b.Create(ctx, container.Spec{Handle: h, RootFS: "preloaded:cflinuxfs4"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Create(ctx, container.Spec{Handle: "c", RootFS: "cflinuxfs4"}); !errors.Is(err, container.ErrNoCapacity) {
		t.Errorf("third container: %v, want ErrNoCapacity", err)
	}
	_ = b.Destroy(ctx, "a")
	if _, err := b.Create(ctx, container.Spec{Handle: "c", RootFS: "preloaded:other"}); !errors.Is(err, container.ErrRootFSMissing) {
		t.Errorf("unknown rootfs: %v, want ErrRootFSMissing", err)
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	state := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
	return state != "Z" && state != "X"
}

func TestDestroyKillsGrandchildrenAndRemovesFiles(t *testing.T) {
	b := newBackend(t)
	ctx := t.Context()
	c, _ := b.Create(ctx, container.Spec{Handle: "d"})
	out := &buf{}
	_, err := c.Run(ctx, sh(`(sleep 100 & echo $!; trap '' TERM; sleep 100) & echo $!; echo x > file; wait`), container.ProcessIO{Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(strings.Fields(out.String())) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var pids []int
	for _, f := range strings.Fields(out.String()) {
		pid, _ := strconv.Atoi(f)
		pids = append(pids, pid)
	}
	if len(pids) != 2 || !alive(pids[0]) || !alive(pids[1]) {
		t.Fatalf("descendants %v not running (%q)", pids, out.String())
	}
	dir := c.(*process.Container).Dir()
	if _, err := os.Stat(filepath.Join(dir, "file")); err != nil {
		t.Fatal(err)
	}
	if err := b.Destroy(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d survived Destroy", pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("home %s still there: %v", dir, err)
	}
}

func TestMemoryLimitBestEffort(t *testing.T) {
	b := newBackend(t, func(c *process.Config) { c.MemoryCheckInterval = host.Duration(50 * time.Millisecond) })
	ctx := t.Context()
	c, _ := b.Create(ctx, container.Spec{Handle: "oom", MemoryMB: 16})
	if err := c.StreamIn(ctx, "/bin", bytes.NewReader(containertest.HelperTar(t))); err != nil {
		t.Fatal(err)
	}
	status, out := run(t, c, container.ProcessSpec{Path: "/bin/helper", Args: []string{"mem", "64"}})
	info, _ := c.Info(ctx)
	if status != 137 || !info.OOMKilled {
		t.Errorf("status %d OOMKilled %v (%q), want 137 and true", status, info.OOMKilled, out)
	}
}

func TestStreamInStaysInside(t *testing.T) {
	b := newBackend(t)
	ctx := t.Context()
	c, _ := b.Create(ctx, container.Spec{Handle: "tar"})
	home := c.(*process.Container).Dir()
	outside := t.TempDir()
	mk := func(hdrs ...*tar.Header) *bytes.Reader {
		var w bytes.Buffer
		tw := tar.NewWriter(&w)
		for _, h := range hdrs {
			_ = tw.WriteHeader(h)
			if h.Size > 0 {
				_, _ = tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
			}
		}
		_ = tw.Close()
		return bytes.NewReader(w.Bytes())
	}
	// ".." is clamped to the destination.
	if err := c.StreamIn(ctx, "/in", mk(&tar.Header{Name: "../../../escape", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, "in", "escape")); err != nil {
		t.Errorf("clamped file missing: %v", err)
	}
	// A symlink may not be written through.
	err := c.StreamIn(ctx, "/in", mk(
		&tar.Header{Name: "link", Linkname: outside, Typeflag: tar.TypeSymlink},
		&tar.Header{Name: "link/pwned", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg},
	))
	if err == nil {
		t.Errorf("StreamIn through a symlink succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "pwned")); err == nil {
		t.Errorf("file written outside the container")
	}
	// Trailing slash streams a directory's contents.
	rc, err := c.StreamOut(ctx, "/in/")
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(rc)
	var names []string
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		names = append(names, h.Name)
	}
	rc.Close()
	if !strings.Contains(strings.Join(names, ","), "escape") || strings.Contains(strings.Join(names, ","), "in/") {
		t.Errorf("StreamOut(/in/) = %v", names)
	}
}

func TestConcurrentCreateRunDestroy(t *testing.T) {
	b := newBackend(t, func(c *process.Config) { c.PortRangeEnd = c.PortRangeStart + 19 })
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := fmt.Sprintf("c%d", i)
			c, err := b.Create(context.Background(), container.Spec{Handle: h, Ports: []uint32{8080, 8081}})
			if err != nil {
				t.Error(err)
				return
			}
			p, err := c.Run(context.Background(), sh("sleep 100"), container.ProcessIO{})
			if err != nil {
				t.Error(err)
				return
			}
			go func() { _, _ = c.Metrics(context.Background()); _, _ = b.Containers(context.Background()) }()
			if err := b.Destroy(context.Background(), h); err != nil {
				t.Error(err)
			}
			if s, _ := p.Wait(); s != 128+int(syscall.SIGKILL) {
				t.Errorf("%s: exit %d", h, s)
			}
		}()
	}
	wg.Wait()
	if cs, _ := b.Containers(context.Background()); len(cs) != 0 {
		t.Errorf("%d containers left", len(cs))
	}
}

func TestStoppedContainerRunsNothing(t *testing.T) {
	b := newBackend(t)
	c, _ := b.Create(t.Context(), container.Spec{Handle: "s"})
	if err := c.Stop(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(t.Context(), sh("true"), container.ProcessIO{}); err == nil {
		t.Errorf("Run in a stopped container succeeded")
	}
}

func TestConfig(t *testing.T) {
	d := process.Config{}.WithDefaults()
	if d.PortRangeStart != 61000 || d.PortRangeEnd != 65000 || d.MaxContainers != 250 || d.HostIP != "127.0.0.1" || d.RootDir == "" {
		t.Errorf("defaults %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	for name, bad := range map[string]func(*process.Config){
		"relative root": func(c *process.Config) { c.RootDir = "rel" },
		"bad ip":        func(c *process.Config) { c.HostIP = "nope" },
		"range":         func(c *process.Config) { c.PortRangeStart, c.PortRangeEnd = 5000, 4000 },
		"high":          func(c *process.Config) { c.PortRangeEnd = 70000 },
		"negative":      func(c *process.Config) { c.MaxContainers = -1 },
	} {
		c := d
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
	b := newBackend(t)
	capy, _ := b.Capacity(t.Context())
	if capy.MemoryMB <= 0 || capy.DiskMB <= 0 || capy.MaxContainers != 250 {
		t.Errorf("detected capacity %+v", capy)
	}
}

// TestReapLeftovers: a backend started on the RootDir of one that was
// abandoned (the rep was killed) kills the old containers' processes and
// removes their homes.
func TestReapLeftovers(t *testing.T) {
	root := t.TempDir()
	b1, err := process.New(process.Config{RootDir: root, Settings: host.Settings{MemoryMB: 100, DiskMB: 100}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := b1.Create(t.Context(), container.Spec{Handle: "old", RootFS: "preloaded:x"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Run(t.Context(), container.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "sleep 60 & sleep 60"}}, container.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	records, _ := filepath.Glob(filepath.Join(root, "c-*.pgids"))
	if len(records) != 1 {
		t.Fatalf("pgid records: %v", records)
	}
	raw, _ := os.ReadFile(records[0])
	pgid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("pgid record %q: %v", raw, err)
	}

	b2, err := process.New(process.Config{RootDir: root, Settings: host.Settings{MemoryMB: 100, DiskMB: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if b2.Reaped() != 1 {
		t.Fatalf("reaped %d containers, want 1", b2.Reaped())
	}
	if _, err := p.Wait(); err != nil {
		t.Fatalf("waiting for the killed process: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still alive after the reap", pgid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	left, _ := os.ReadDir(root)
	if len(left) != 0 {
		t.Fatalf("left in root after the reap: %v", left)
	}
	if cs, _ := b2.Containers(t.Context()); len(cs) != 0 {
		t.Fatalf("new backend lists %d containers", len(cs))
	}
}
