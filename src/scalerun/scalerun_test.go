package scalerun

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/scalebench"
)

var binDir string

func TestMain(m *testing.M) {
	testutil.MainWithBinaries(m, &binDir, testutil.Build{Pkgs: []string{"../cmd/bbs", "../cmd/locket", "../cmd/auctioneer"}})
}

func TestMix(t *testing.T) {
	for _, total := range []int{1, 2, 300, 25_000, 250_000} {
		sum, large := 0, 0
		for _, n := range mix(total) {
			if n < 1 {
				t.Fatalf("mix(%d) has a process of %d instances", total, n)
			}
			if n == 20 {
				large++
			}
			sum += n
		}
		if sum != total {
			t.Errorf("mix(%d) sums to %d", total, sum)
		}
		if total >= 25_000 && large == 0 {
			t.Errorf("mix(%d) has no large app", total)
		}
	}
}

// TestRunTiny runs the whole benchmark at 300 instances on 10 cells on
// SQLite and checks that every phase produced figures and that the final
// counts are exact.
func TestRunTiny(t *testing.T) {
	dir := t.TempDir()
	out := &testutil.SyncBuffer{}
	rep, err := Run(t.Context(), Config{
		Preset: "tiny", Dir: dir, Out: filepath.Join(dir, "out"), BinDir: binDir,
		StartDelay: 100 * time.Millisecond, ConvergenceInterval: 2 * time.Second, SteadyWindow: 5 * time.Second, CellSyncInterval: time.Second,
		PhaseTimeout: 5 * time.Minute, Progress: out,
		ControlNice: 1, // through nice(1), which needs no privilege to raise it
	})
	t.Logf("progress:\n%s", out)
	if err != nil {
		for _, name := range []string{"bbs", "auctioneer", "locket"} {
			if b, rerr := os.ReadFile(filepath.Join(dir, "logs", name+".log")); rerr == nil && len(b) > 4000 {
				t.Logf("%s log tail:\n%s", name, b[len(b)-4000:])
			}
		}
		t.Fatalf("run: %v", err)
	}
	if rep.ControlNice != 1 {
		t.Errorf("report's control niceness %d, want 1", rep.ControlNice)
	}
	if rep.Instances != 300 || rep.Cells != 10 || rep.Processes != len(mix(300)) {
		t.Errorf("report of %d instances, %d cells, %d processes", rep.Instances, rep.Cells, rep.Processes)
	}
	if f := rep.Final; f == nil || *f != (scalebench.FinalCounts{Desired: 300, Running: 300}) {
		t.Errorf("final counts %+v, want 300 desired and RUNNING, none missing or duplicated", f)
	}
	if rep.Ramp == nil || !rep.Ramp.AllRunning || rep.Ramp.Seconds <= 0 || rep.Ramp.PlacementsPerSecond <= 0 {
		t.Errorf("ramp %+v", rep.Ramp)
	}
	for name, ls := range map[string][]scalebench.Latency{"ramp": rep.LatencyRamp, "steady": rep.LatencySteady} {
		if l := last(ls); l == nil || l.Label != "all routes" || l.Count == 0 || len(ls) < 2 {
			t.Errorf("%s latencies %+v", name, ls)
		}
	}
	if c := rep.Convergence; c == nil || c.Count == 0 {
		t.Errorf("convergence %+v, want a pass at steady state", c)
	}
	if l := rep.EventLag; l == nil || l.Subscribers != 12 || l.Timed < 300 || l.P99 <= 0 {
		t.Errorf("event lag %+v, want 10 subscribers timing at least the 300 RUNNING changes", l)
	}
	if c := rep.CellLoss; c == nil || c.Instances == 0 || c.Seconds <= 0 {
		t.Errorf("cell loss %+v", c)
	}
	if d := rep.Drain; d == nil || d.Cells != 1 || d.Seconds <= 0 {
		t.Errorf("drain %+v, want 1 cell drained", d)
	}
	names := map[string]bool{}
	for _, c := range rep.Components {
		if c.RSSBytes <= 0 || c.PID <= 0 {
			t.Errorf("component %+v", c)
		}
		names[c.Name] = true
	}
	for _, n := range []string{"bbs", "auctioneer", "sim cells (driver)"} {
		if !names[n] {
			t.Errorf("no figures for %s in %+v", n, rep.Components)
		}
	}
	if names["locket"] || !rep.LocketEmbedded { // SQLite: the BBS serves Locket
		t.Errorf("locket embedded %v, its own figures %v; want it in the BBS on SQLite", rep.LocketEmbedded, names["locket"])
	}
	if rep.DBBytes <= 0 || len(rep.Checks) == 0 || len(rep.Series) == 0 {
		t.Errorf("database %d bytes, %d checks, %d series", rep.DBBytes, len(rep.Checks), len(rep.Series))
	}
	f, err := os.Open(filepath.Join(dir, "out", ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := scalebench.ReadReport(f)
	if err != nil || back.Final == nil || *back.Final != *rep.Final {
		t.Errorf("report.json read back: %v, %+v", err, back)
	}
	for _, name := range []string{PlotSVG, ReportMarkdown} {
		if st, err := os.Stat(filepath.Join(dir, "out", name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}
