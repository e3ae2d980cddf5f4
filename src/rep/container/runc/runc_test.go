package runc_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/containertest"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/runc"
)

// tmpDir holds what the tests build once per test binary (the busybox rootfs).
var tmpDir string

func TestMain(m *testing.M) { testutil.MainWithBinaries(m, &tmpDir) }

// requireHost fails (never skips) when the test cannot run here.
func requireHost(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the runc backend tests need root (namespaces, cgroups, mounts): run them as root, as CI does")
	}
	for _, bin := range []string{"runc", "ip", "busybox"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed: run ci/dev/ensure-services.sh (apt-get install runc iproute2 busybox-static)", bin)
		}
	}
}

// busyboxRootFS is the busybox rootfs, built once per test binary by the
// repo's recipe.
func busyboxRootFS(t testing.TB) string {
	t.Helper()
	requireHost(t)
	return containertest.BusyboxRootFS(t, filepath.Join(tmpDir, "busybox"))
}

// portBase and netBase give each backend its own host ports and /24, so
// backends of one test binary never collide.
var (
	portBase atomic.Uint32
	netBase  atomic.Uint32
)

func init() { portBase.Store(40000) }

func newBackend(t testing.TB, mutate ...func(*runc.Config)) *runc.Backend {
	t.Helper()
	cfg := testConfig(t)
	for _, m := range mutate {
		m(&cfg)
	}
	b, err := runc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { destroyAll(t, b) })
	return b
}

func testConfig(t testing.TB) runc.Config {
	start := portBase.Add(20) - 20
	n := netBase.Add(1)
	return runc.Config{
		StateDir: t.TempDir(),
		RootFSes: map[string]string{"cflinuxfs4": busyboxRootFS(t)},
		Settings: host.Settings{
			HostIP:          "127.0.0.1",
			PortRangeStart:  start,
			PortRangeEnd:    start + 19,
			StopGracePeriod: host.Duration(300 * time.Millisecond),
		},
		NetworkCIDR: fmt.Sprintf("10.254.%d.0/24", n%256),
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

func destroyAll(t testing.TB, b *runc.Backend) {
	cs, _ := b.Containers(context.Background())
	for _, c := range cs {
		if err := b.Destroy(context.Background(), c.Handle()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if err := b.RemoveHostNAT(context.Background()); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

func TestContract(t *testing.T) {
	containertest.Run(t, func(t *testing.T) container.Backend { return newBackend(t) })
}

// buf collects a process's stdout and stderr.
type buf = testutil.SyncBuffer

func create(t testing.TB, b container.Backend, spec container.Spec) container.Container {
	t.Helper()
	if spec.RootFS == "" {
		spec.RootFS = containertest.RootFS
	}
	c, err := b.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create(%s): %v", spec.Handle, err)
	}
	return c
}

// run runs a shell script in c and returns its status and combined output.
func run(t testing.TB, c container.Container, script string) (int, string) {
	t.Helper()
	return containertest.RunOutput(t, c, container.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", script}})
}

func tarOneFile(t testing.TB, name, body string) []byte {
	t.Helper()
	var bb bytes.Buffer
	tw := tar.NewWriter(&bb)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(body))
	tw.Close()
	return bb.Bytes()
}
