package simcells

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	auctioneerdaemon "github.com/diego-go/diego/src/auctioneer/daemon"
	"github.com/diego-go/diego/src/bbs/bbstest"
	bbsconfig "github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/sim"
	"github.com/diego-go/diego/src/rep/daemon"
	"github.com/diego-go/diego/src/rep/reptest"
)

const waitFor = 90 * time.Second

// system is a BBS with embedded Locket, an auctioneer and n simulated cells.
type system struct {
	bbs   *bbstest.Harness
	log   lager.Logger
	cells *Cells
	// cutShort are the cells a test stopped with an ended context (their
	// Stop keeps returning that error).
	cutShort map[string]bool
}

func startSystem(t testing.TB, n int) *system {
	t.Helper()
	return startSystemWith(t, n, host.Settings{MemoryMB: 4096, DiskMB: 8192, MaxContainers: 20})
}

// startSystemWith starts n cells of the given capacity.
func startSystemWith(t testing.TB, n int, capacity host.Settings) *system {
	t.Helper()
	aucAddr := testutil.FreeAddr(t)
	h := bbstest.Start(t, bbstest.Options{
		Driver: "sqlite", DSN: testdb.SQLite(t), EmbeddedLocket: true, AuctioneerAddress: aucAddr,
		Configure: func(c *bbsconfig.Config) { c.ConvergenceRepeatInterval = bbsconfig.Duration(2 * time.Second) },
	})
	ac := auctioneerdaemon.DefaultConfig()
	k := h.Certs
	ac.ListenAddress = aucAddr
	ac.CAFile, ac.ServerCertFile, ac.ServerKeyFile = k.CACert, k.ServerCert, k.ServerKey
	ac.LocketAddress = h.Daemon.LocketAddr()
	ac.LocketCAFile, ac.LocketClientCertFile, ac.LocketClientKeyFile = k.CACert, k.ClientCert, k.ClientKey
	ac.LockRetryInterval = auctioneerdaemon.Duration(time.Second)
	ac.BBSAddress = h.URL
	ac.BBSCAFile, ac.BBSClientCertFile, ac.BBSClientKeyFile = k.CACert, k.ClientCert, k.ClientKey
	ac.RepCAFile, ac.RepClientCertFile, ac.RepClientKeyFile = k.CACert, k.ClientCert, k.ClientKey
	quiet := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	ad, err := auctioneerdaemon.Start(context.Background(), ac, auctioneerdaemon.Options{Logger: quiet})
	if err != nil {
		t.Fatalf("auctioneer: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ad.Stop(ctx)
	})
	select {
	case <-ad.Auctioneer().Leading():
	case <-time.After(waitFor):
		t.Fatal("the auctioneer did not take its lock")
	}
	testutil.WaitFor(t, waitFor, "the auctioneer to listen", func() bool {
		c, err := net.Dial("tcp", aucAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	cells, err := Start(context.Background(), Config{
		Count: n, Zones: []string{"z1", "z2"}, BBSAddress: h.URL, LocketAddress: h.Daemon.LocketAddr(), Certs: h.Certs,
		Dir: t.TempDir(), Sim: sim.Config{StartDelay: host.Duration(200 * time.Millisecond), Settings: capacity},
		Tweak:  func(_ int, s *daemon.Settings) { s.SyncInterval = daemon.Duration(2 * time.Second) },
		Logger: quiet,
	})
	if err != nil {
		t.Fatalf("starting %d cells: %v", n, err)
	}
	s := &system{bbs: h, log: lager.NewLogger("test"), cells: cells, cutShort: map[string]bool{}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		for _, c := range cells.All() {
			if err := c.Stop(ctx); err != nil && !s.cutShort[c.ID] {
				t.Errorf("stopping %s: %v", c.ID, err)
			}
		}
		_ = cells.Stop(ctx) // the cells' results are above; this closes Locket
	})
	testutil.Eventually(t, waitFor, fmt.Sprintf("the BBS to list %d cells", n), func() (bool, string) {
		cs, err := h.Client.Cells(s.log, "")
		return err == nil && len(cs) == n, fmt.Sprint(len(cs), err)
	})
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

// app is a CC-shaped LRP: a launcher that is the simulated app, a TCP
// check on 8080.
func app(pg string, instances int32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: pg, Domain: "sim", RootFs: "preloaded:cflinuxfs4", Instances: instances,
		MemoryMb: 64, DiskMb: 64, LogGuid: pg, Ports: []uint32{8080},
		MetricTags:      map[string]*models.MetricTagValue{"source_id": {Static: pg}},
		Action:          models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/launcher", Args: []string{"app", "./server", ""}, User: "vcap"}),
		CheckDefinition: &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}},
		StartTimeoutMs:  60_000,
	}
}

// running returns the RUNNING ordinary instances by cell, and a
// description of the others.
func (s *system) running(t testing.TB) (map[string][]*models.ActualLRP, int, string) {
	t.Helper()
	lrps, err := s.bbs.Client.ActualLRPs(s.log, "", models.ActualLRPFilter{Domain: "sim"})
	if err != nil {
		return nil, 0, err.Error()
	}
	by := map[string][]*models.ActualLRP{}
	n := 0
	var others []string
	for _, l := range lrps {
		if l.State == models.ActualLRPStateRunning && l.Presence == models.ActualLRP_Ordinary {
			by[l.CellId] = append(by[l.CellId], l)
			n++
		} else {
			others = append(others, fmt.Sprintf("%s/%d %s on %q", l.ProcessGuid, l.Index, l.State, l.CellId))
		}
	}
	if len(others) > 10 {
		others = append(others[:10], fmt.Sprintf("and %d more", len(others)-10))
	}
	return by, n, fmt.Sprintf("%d running; others %v", n, others)
}

// waitRunning waits until want instances are RUNNING, none on the cells
// in avoid.
func (s *system) waitRunning(t testing.TB, want int, what string, avoid ...string) map[string][]*models.ActualLRP {
	t.Helper()
	var by map[string][]*models.ActualLRP
	testutil.Eventually(t, waitFor, what, func() (bool, string) {
		var n int
		var desc string
		by, n, desc = s.running(t)
		for _, c := range avoid {
			if len(by[c]) > 0 {
				return false, fmt.Sprintf("%d still on %s; %s", len(by[c]), c, desc)
			}
		}
		return n == want, desc
	})
	return by
}

func busiest(by map[string][]*models.ActualLRP) string {
	best := ""
	for c, ls := range by {
		if best == "" || len(ls) > len(by[best]) || (len(ls) == len(by[best]) && c < best) {
			best = c
		}
	}
	return best
}

// TestSimCells runs 20 simulated cells against a real BBS, Locket and
// auctioneer: LRPs reach RUNNING, a crashed instance restarts, and a
// stopped cell's instances are replaced on the others.
func TestSimCells(t *testing.T) {
	s := startSystem(t, 20)
	for i := range 3 {
		if err := s.bbs.Client.DesireLRP(s.log, "", app(fmt.Sprintf("app-%d", i), 10)); err != nil {
			t.Fatal(err)
		}
	}
	by := s.waitRunning(t, 30, "30 instances RUNNING")
	if len(by) < 2 {
		t.Errorf("30 instances on %d cells, want them spread", len(by))
	}
	for cellID, ls := range by {
		c := s.cells.Cell(cellID)
		if c == nil {
			t.Fatalf("instance on unknown cell %q", cellID)
		}
		for _, l := range ls {
			if _, err := c.Backend.Lookup(t.Context(), l.InstanceGuid); err != nil {
				t.Errorf("RUNNING %s/%d has no container on %s: %v", l.ProcessGuid, l.Index, cellID, err)
			}
		}
	}

	// Crash one instance through the sim: the BBS restarts it.
	victim := by[busiest(by)][0]
	if err := s.cells.Crash(victim.InstanceGuid); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, waitFor, "the crashed instance RUNNING again with a crash count", func() (bool, string) {
		lrps, err := s.bbs.Client.ActualLRPs(s.log, "", models.ActualLRPFilter{ProcessGuid: victim.ProcessGuid, Index: &victim.Index})
		if err != nil || len(lrps) != 1 {
			return false, fmt.Sprint(lrps, err)
		}
		l := lrps[0]
		return l.State == models.ActualLRPStateRunning && l.CrashCount >= 1 && l.InstanceGuid != victim.InstanceGuid,
			fmt.Sprintf("%s crash_count %d guid %s", l.State, l.CrashCount, l.InstanceGuid)
	})
	by = s.waitRunning(t, 30, "30 instances RUNNING after the crash")

	// Stop the busiest cell: its instances are replaced elsewhere.
	gone := busiest(by)
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	if err := s.cells.Cell(gone).Stop(ctx); err != nil {
		t.Fatalf("stopping %s: %v", gone, err)
	}
	s.waitRunning(t, 30, "30 instances RUNNING, none on the stopped cell", gone)
}

// TestSimCellEvacuates drains a simulated cell: its instances are RUNNING
// elsewhere before it lets them go, and the cell reports it evacuated.
func TestSimCellEvacuates(t *testing.T) {
	s := startSystem(t, 4)
	if err := s.bbs.Client.DesireLRP(s.log, "", app("evac", 6)); err != nil {
		t.Fatal(err)
	}
	by := s.waitRunning(t, 6, "6 instances RUNNING")
	drained := s.cells.Cell(busiest(by))
	if err := reptest.Evacuate(drained.Daemon.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-drained.Daemon.Evacuated():
	case <-time.After(waitFor):
		t.Fatal("the cell did not finish evacuating")
	}
	by = s.waitRunning(t, 6, "6 instances RUNNING, none on the drained cell", drained.ID)
	if cs := slices.Collect(func(yield func(string) bool) {
		for c := range by {
			if !yield(c) {
				return
			}
		}
	}); len(cs) == 0 {
		t.Error("no cell runs the instances")
	}
}
