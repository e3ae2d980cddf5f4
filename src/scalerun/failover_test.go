package scalerun

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/scalebench"
)

// TestRunTinyFailover runs a smaller benchmark on PostgreSQL, where two BBS
// share the database: after the drain the active BBS is killed, and the
// report has the standby serving, every remaining cell synced with it,
// and exact counts at the end (nothing lost across the failover).
func TestRunTinyFailover(t *testing.T) {
	dir := t.TempDir()
	out := &testutil.SyncBuffer{}
	rep, err := Run(t.Context(), Config{
		Preset: "tiny", Instances: 60, Cells: 4, DBDriver: "postgres", DBDSN: testdb.Postgres(t),
		Dir: dir, Out: filepath.Join(dir, "out"), BinDir: binDir,
		StartDelay: 100 * time.Millisecond, ConvergenceInterval: 2 * time.Second, SteadyWindow: 3 * time.Second, CellSyncInterval: time.Second,
		LockTTL: 3 * time.Second, PhaseTimeout: 3 * time.Minute, Progress: out,
	})
	t.Logf("progress:\n%s", out)
	if err != nil {
		for _, name := range []string{"bbs", "bbs-standby", "auctioneer"} {
			if b, rerr := os.ReadFile(filepath.Join(dir, "logs", name+".log")); rerr == nil {
				t.Logf("%s log tail:\n%s", name, b[max(0, len(b)-3000):])
			}
		}
		t.Fatalf("run: %v", err)
	}
	f := rep.Failover
	if f == nil {
		t.Fatal("no failover figures")
	}
	// One cell was lost and one drained: two are left to sync.
	if f.Cells != 2 || f.ServingSeconds <= 0 || f.SyncedSeconds < f.ServingSeconds || f.RunningSeconds < f.ServingSeconds {
		t.Errorf("failover %+v, want the standby serving, then 2 cells synced and all RUNNING", f)
	}
	if fc := rep.Final; fc == nil || *fc != (scalebench.FinalCounts{Desired: 60, Running: 60}) {
		t.Errorf("final counts %+v, want 60 desired and RUNNING after the failover", fc)
	}
	names := map[string]bool{}
	for _, c := range rep.Components {
		names[c.Name] = c.RSSBytes > 0
	}
	for _, n := range []string{"bbs", "bbs-standby", "auctioneer", "locket"} {
		if !names[n] {
			t.Errorf("no figures for %s in %+v", n, rep.Components)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", ReportMarkdown))
	if err != nil || !containsAll(string(b), "failover: standby serves", "cells synced") {
		t.Errorf("report.md lacks the failover: %v\n%s", err, b)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestLateAddrBelowEphemeralRange: the standby's port is free and below
// the ephemeral range the kernel names (or its default when it names none).
func TestLateAddrBelowEphemeralRange(t *testing.T) {
	for _, tc := range []struct {
		file string
		low  int
	}{{"30000\t60999\n", 30000}, {"", 32768}, {"junk", 32768}, {"100 200", 32768}} {
		path := filepath.Join(t.TempDir(), "range")
		if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
			t.Fatal(err)
		}
		defer func(old string) { ephemeralPortRange = old }(ephemeralPortRange)
		ephemeralPortRange = path
		if got := ephemeralLow(); got != tc.low {
			t.Errorf("range file %q: ephemeral ports from %d, want %d", tc.file, got, tc.low)
		}
		addr, err := lateAddr()
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if port < 1024 || port >= tc.low {
			t.Errorf("range file %q: standby port %d, want 1024..%d", tc.file, port, tc.low-1)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("standby address %s is not free: %v", addr, err)
			continue
		}
		l.Close()
	}
}
