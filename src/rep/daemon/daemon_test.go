package daemon

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/reptest"
)

const waitFor = 30 * time.Second

// eventually waits waitFor for cond.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	testutil.Eventually(t, waitFor, what, cond)
}

// greeting connects to the instance's first host-mapped port and returns
// the first line it sends.
func greeting(t testing.TB, ni models.ActualLRPNetInfo) (string, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(ni.Address, strconv.Itoa(int(ni.Ports[0].HostPort))), 10*time.Second)
	if err != nil {
		t.Fatalf("connecting to the instance: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return bufio.NewReader(conn).ReadString('\n')
}

// helperDir holds the ./testdata programs, built static once per test
// binary run, and what else the tests build (the runc rootfs).
var helperDir string

func TestMain(m *testing.M) {
	testutil.MainWithBinaries(m, &helperDir,
		testutil.Build{Pkgs: []string{"./testdata/tcpserver", "./testdata/httpserver"}, Env: []string{"CGO_ENABLED=0"}},
		// the CC-shaped benchmarks' lifecycle and droplet program, stripped
		// as the acceptance suite builds it (and as released binaries are)
		testutil.Build{Pkgs: []string{"../../internal/ccrecipe/cfapp"}, Env: []string{"CGO_ENABLED=0", `GOFLAGS=-trimpath "-ldflags=-s -w"`}})
}

// helperBin is the path of the ./testdata/NAME program.
func helperBin(name string) string { return filepath.Join(helperDir, name) }

func TestValidate(t *testing.T) {
	if err := (Settings{}).WithDefaults().Validate(); err == nil {
		t.Fatal("empty config validated")
	}
	c := Settings{CellID: "c", CAFile: "a", CertFile: "b", KeyFile: "c", BBSAddress: "https://x", BBSCAFile: "a",
		BBSClientCertFile: "b", BBSClientKeyFile: "c", ContainerRootDir: "/tmp/x"}.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	c.RootFSProviders = []string{"preloaded:"}
	if err := c.Validate(); err == nil {
		t.Fatal("preloaded without a name validated")
	}
}

type cellFixture struct {
	h   *reptest.BBS
	d   *Daemon
	rc  rep.Client
	cfg Settings
}

// newCell starts a BBS with embedded Locket and a rep cell registered with it.
func newCell(t *testing.T) *cellFixture {
	t.Helper()
	return addCell(t, newBBS(t), "cell-e2e", nil)
}

// newBBS starts a BBS with embedded Locket on SQLite.
func newBBS(t testing.TB) *reptest.BBS {
	t.Helper()
	return reptest.StartBBS(t)
}

// addCell starts a rep cell registered with h; tweak, if set, adjusts its
// config and options first. Bulk sync runs every second.
func addCell(t testing.TB, h *reptest.BBS, cellID string, tweak func(*Settings, *Options)) *cellFixture {
	t.Helper()
	certs := h.Certs

	cfg := Joining(cellID, "z1", h.URL, h.Daemon.LocketAddr(), certs)
	cfg.SyncInterval = Duration(time.Second)
	cfg.ListenAddress, cfg.LocalAddress = "127.0.0.1:0", "127.0.0.1:0"
	cfg.ContainerRootDir = filepath.Join(t.TempDir(), "containers")
	cfg.MemoryMB, cfg.DiskMB, cfg.MaxContainers = 1024, 1024, 10
	cfg.RootFSProviders = []string{"preloaded:cflinuxfs4"}
	cfg.PlacementTags = []string{"tag1"}
	opts := Options{ContainerOutput: testWriter{t}}
	if tweak != nil {
		tweak(&cfg, &opts)
	}
	d, err := Start(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("starting rep: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Errorf("stopping rep: %v", err)
		}
	})

	select {
	case <-d.PresenceHeld():
	case <-time.After(waitFor):
		t.Fatal("presence not acquired")
	}
	c := h.WaitListed(t, cfg.CellID, d.RepURL(), waitFor)
	if c.Zone != "z1" || int64(c.Capacity.MemoryMb) != cfg.MemoryMB {
		t.Fatalf("the BBS lists the cell as %s", c)
	}
	if err := reptest.Ping(d.LocalAddr()); err != nil {
		t.Fatalf("ping: %v", err)
	}

	rc := reptest.Client(t, certs, d.RepURL(), 10*time.Second)
	return &cellFixture{h: h, d: d, rc: rc, cfg: cfg}
}

// TestLRPEndToEnd runs a real BBS with embedded Locket and a rep cell, places
// one LRP instance on the cell through the reference rep client, waits for
// it to be RUNNING and reachable, then stops it.
func TestLRPEndToEnd(t *testing.T) {
	helper := helperBin("tcpserver")
	f := newCell(t)
	h, d, rc, lg, cfg := f.h, f.d, f.rc, f.h.Log, f.cfg
	desired := &models.DesiredLRP{
		ProcessGuid: "pg-e2e", Domain: "test", RootFs: "preloaded:cflinuxfs4", Instances: 1,
		MemoryMb: 64, DiskMb: 64, Ports: []uint32{8080}, LogGuid: "log",
		MetricTags:           map[string]*models.MetricTagValue{"source_id": {Static: "pg-e2e"}},
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		Action: models.WrapAction(&models.RunAction{
			Path: "/bin/sh", Args: []string{"-c", "exec " + helper}, User: "vcap",
		}),
		CheckDefinition: &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}},
		StartTimeoutMs:  20000,
	}
	key := h.Desire(t, desired)

	state, err := rc.State(lg)
	if err != nil || state.CellID != cfg.CellID {
		t.Fatalf("state: %+v, %v", state, err)
	}
	instanceGuid := "ig-e2e"
	reptest.Perform(t, rc, lg, instanceGuid, key, desired)

	var running *models.ActualLRP
	eventually(t, "the instance to be RUNNING", func() (bool, string) {
		lrps, err := h.Client.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: "pg-e2e"})
		if err != nil || len(lrps) != 1 {
			return false, "not listed"
		}
		if lrps[0].State != models.ActualLRPStateRunning {
			return false, lrps[0].String()
		}
		running = lrps[0]
		return true, ""
	})
	if running.InstanceGuid != instanceGuid || running.CellId != cfg.CellID {
		t.Fatalf("running on the wrong instance: %s", running)
	}
	ni := running.ActualLRPNetInfo
	if ni.Address != "127.0.0.1" || len(ni.Ports) != 1 || ni.Ports[0].ContainerPort != 8080 || ni.Ports[0].HostPort == 0 {
		t.Fatalf("net info: %s", ni.String())
	}
	// The ledger turns Running just after the BBS acknowledged the start,
	// so a reader of the BBS may see RUNNING a moment before it.
	eventually(t, "the ledger to show the instance Running", func() (bool, string) {
		r, ok := d.Ledger().Get(cell.KindLRP, instanceGuid)
		return ok && r.Phase == cell.Running, fmt.Sprintf("ledger: %+v %v", r, ok)
	})
	line, err := greeting(t, ni)
	if err != nil || !strings.Contains(line, instanceGuid) {
		t.Fatalf("greeting %q, %v", line, err)
	}

	if err := rc.StopLRPInstance(lg, key, running.ActualLRPInstanceKey); err != nil {
		t.Fatalf("stopping instance: %v", err)
	}
	eventually(t, "the instance to be removed from the BBS", func() (bool, string) {
		lrps, err := h.Client.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: "pg-e2e"})
		if err != nil {
			return false, err.Error()
		}
		for _, l := range lrps {
			if l.InstanceGuid == instanceGuid {
				return false, l.String()
			}
		}
		return true, ""
	})
	eventually(t, "the reservation to be released", func() (bool, string) {
		_, ok := d.Ledger().Get(cell.KindLRP, instanceGuid)
		return !ok, "still reserved"
	})
	if _, err := os.Stat(filepath.Join(cfg.ContainerRootDir, instanceGuid)); err == nil {
		entries, _ := os.ReadDir(cfg.ContainerRootDir)
		t.Fatalf("container directory left behind: %v", entries)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("container: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// desireAndPlace desires an LRP with one instance and places its instance
// on the cell through the rep client, as the auctioneer would.
func (f *cellFixture) desireAndPlace(t *testing.T, desired *models.DesiredLRP, instanceGuid string) models.ActualLRPKey {
	t.Helper()
	return f.h.Place(t, f.rc, desired, instanceGuid)
}

// TestLRPCrash: an instance whose action exits is crashed in the BBS with
// the exit reason, and its reservation and container are released.
func TestLRPCrash(t *testing.T) {
	f := newCell(t)
	desired := &models.DesiredLRP{
		ProcessGuid: "pg-crash", Domain: "test", RootFs: "preloaded:cflinuxfs4", Instances: 1,
		MemoryMb: 64, DiskMb: 64, LogGuid: "log",
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: "pg-crash"}},
		Action: models.WrapAction(&models.RunAction{
			Path: "/bin/sh", Args: []string{"-c", "sleep 0.5; exit 3"}, User: "vcap",
		}),
	}
	f.desireAndPlace(t, desired, "ig-crash")
	eventually(t, "the crash to be recorded", func() (bool, string) {
		lrps, err := f.h.Client.ActualLRPs(f.h.Log, "", models.ActualLRPFilter{ProcessGuid: "pg-crash"})
		if err != nil || len(lrps) != 1 {
			return false, "not listed"
		}
		l := lrps[0]
		if l.CrashCount < 1 {
			return false, l.String()
		}
		if !strings.Contains(l.CrashReason, "Exited with status 3") {
			t.Fatalf("crash reason %q", l.CrashReason)
		}
		return true, ""
	})
	eventually(t, "the reservation to be released", func() (bool, string) {
		_, ok := f.d.Ledger().Get(cell.KindLRP, "ig-crash")
		return !ok, "still reserved"
	})
}
