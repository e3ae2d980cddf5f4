package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/container/containertest"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/runc"
)

var (
	runcRootFSOnce sync.Once
	runcRootFS     string
	runcRootFSErr  error
)

// runcCell starts a cell on the runc backend whose preloaded cflinuxfs4 is
// a busybox rootfs holding the tcpserver helper at /usr/local/bin; extra
// tweaks adjust its config after that.
func runcCell(t testing.TB, maxContainers int, quiet bool, extra ...func(*Settings, *Options)) *cellFixture {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the runc backend needs root: run as root, as CI does")
	}
	helper := helperBin("tcpserver")
	runcRootFSOnce.Do(func() {
		runcRootFS = containertest.BusyboxRootFS(t, filepath.Join(helperDir, "busybox"))
		bin, err := os.ReadFile(helper)
		if err == nil {
			_ = os.MkdirAll(filepath.Join(runcRootFS, "usr/local/bin"), 0o755)
			err = os.WriteFile(filepath.Join(runcRootFS, "usr/local/bin/tcpserver"), bin, 0o755)
		}
		runcRootFSErr = err
	})
	if runcRootFSErr != nil {
		t.Fatal(runcRootFSErr)
	}
	return addCell(t, newBBS(t), "cell-runc", func(c *Settings, o *Options) {
		c.MaxContainers = maxContainers
		c.MemoryMB, c.DiskMB = int64(maxContainers)*64, int64(maxContainers)*64
		if quiet {
			c.SyncInterval = Duration(time.Hour)
			o.ContainerOutput = io.Discard
		}
		b, err := runc.New(runc.Config{
			StateDir: filepath.Join(c.ContainerRootDir, "runc"),
			RootFSes: map[string]string{"cflinuxfs4": runcRootFS},
			Settings: host.Settings{
				HostIP:         "127.0.0.1",
				PortRangeStart: 45000, PortRangeEnd: 47000,
				MemoryMB: c.MemoryMB, DiskMB: c.DiskMB, MaxContainers: maxContainers,
				StopGracePeriod: host.Duration(time.Second),
			},
			NetworkCIDR: "10.253.0.0/16",
			Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if err != nil {
			t.Fatal(err)
		}
		o.Backend = b
		for _, tw := range extra {
			tw(c, o)
		}
	})
}

func runcDesired(pg string) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: pg, Domain: "test", RootFs: "preloaded:cflinuxfs4", Instances: 1,
		MemoryMb: 64, DiskMb: 64, Ports: []uint32{8080}, LogGuid: "log",
		MetricTags:           map[string]*models.MetricTagValue{"source_id": {Static: pg}},
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		Action:               models.WrapAction(&models.RunAction{Path: "/usr/local/bin/tcpserver", User: "vcap"}),
		CheckDefinition:      &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}},
		StartTimeoutMs:       30000,
	}
}

// TestLRPOnRunc runs an LRP instance in a runc container: RUNNING with
// net_info, answering on the host-mapped port, removed when stopped.
func TestLRPOnRunc(t *testing.T) {
	f := runcCell(t, 10, false)
	f.desireAndPlace(t, runcDesired("pg-runc"), "ig-runc")
	running := f.waitRunning(t, "pg-runc", "ig-runc")
	ni := running.ActualLRPNetInfo
	if len(ni.Ports) != 1 || ni.Ports[0].ContainerPort != 8080 || ni.InstanceAddress == "" || ni.InstanceAddress == ni.Address {
		t.Fatalf("net info: %s", ni.String())
	}
	line, err := greeting(t, ni)
	if err != nil || !strings.Contains(line, "ig-runc") {
		t.Fatalf("greeting %q, %v", line, err)
	}
	if err := f.rc.StopLRPInstance(f.h.Log, running.ActualLRPKey, running.ActualLRPInstanceKey); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the instance to leave the BBS and the cell", func() (bool, string) {
		if l := f.actual(t, "pg-runc"); len(l) == 1 && l[0].InstanceGuid == "ig-runc" {
			return false, l[0].String()
		}
		cs, _ := f.d.backend.Containers(t.Context())
		return len(cs) == 0, fmt.Sprintf("%d containers", len(cs))
	})
}

// TestLRPOnRuncOOM: an instance that exceeds its memory limit in a runc
// container crashes with "out of memory" in its crash reason.
func TestLRPOnRuncOOM(t *testing.T) {
	f := runcCell(t, 10, false)
	d := runcDesired("pg-oom")
	d.MemoryMb = 32
	d.CheckDefinition = nil
	// busybox sh: grow a variable until the cgroup kills the shell
	d.Action = models.WrapAction(&models.RunAction{Path: "/bin/sh", User: "vcap",
		Args: []string{"-c", `x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while true; do x="$x$x"; done`}})
	f.desireAndPlace(t, d, "ig-oom")
	eventually(t, "the instance to crash out of memory", func() (bool, string) {
		l := f.actual(t, "pg-oom")
		return len(l) == 1 && l[0].CrashCount > 0 && strings.Contains(l[0].CrashReason, "out of memory"), fmt.Sprint(l)
	})
}

// BenchmarkWorkToRunningRunc is BenchmarkWorkToRunning on the runc
// backend: claim, OCI bundle on overlayfs, namespaces, veth, cgroups, the
// app started and its tcp check passed through the host port proxy.
func BenchmarkWorkToRunningRunc(b *testing.B) {
	benchWorkToRunning(b, runcCell(b, max(b.N, 1)+1, true), "runc", runcDesired)
}

// TestRuncHealthCheckReachesTheApp: on runc the tcp check dials the app in
// its container, not the host port proxy (which accepts at once), so an
// app that listens late is not RUNNING before it listens.
func TestRuncHealthCheckReachesTheApp(t *testing.T) {
	f := runcCell(t, 10, false)
	d := runcDesired("pg-late")
	d.Action = models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "sleep 2; exec /usr/local/bin/tcpserver"}, User: "vcap"})
	start := time.Now()
	f.desireAndPlace(t, d, "ig-late")
	f.waitRunning(t, "pg-late", "ig-late")
	if el := time.Since(start); el < 2*time.Second {
		t.Fatalf("RUNNING after %s, before the app listened (2s)", el)
	}
}
