package scalerun

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
)

// TestRunPhaseTimeoutReturns runs the tiny preset with a phase timeout no
// ramp can meet: Run must return the ramp's error (and write the report)
// rather than hang while shutting down.
func TestRunPhaseTimeoutReturns(t *testing.T) {
	dir := t.TempDir()
	out := &testutil.SyncBuffer{}
	type result struct {
		err error
	}
	done := make(chan result, 1)
	go func() {
		_, err := Run(context.Background(), Config{
			Preset: "tiny", DBDriver: "postgres", DBDSN: testdb.Postgres(t), Dir: dir, Out: filepath.Join(dir, "out"), BinDir: binDir,
			// Instances take a minute to start: the ramp cannot end in time.
			StartDelay: time.Minute, ConvergenceInterval: 2 * time.Second, CellSyncInterval: time.Second,
			PhaseTimeout: 3 * time.Second, Progress: out,
		})
		done <- result{err}
	}()
	select {
	case res := <-done:
		t.Logf("progress:\n%s", out)
		if res.err == nil || !strings.Contains(res.err.Error(), "not within") {
			for _, name := range []string{"locket", "bbs", "bbs-standby", "auctioneer"} {
				if b, rerr := os.ReadFile(filepath.Join(dir, "logs", name+".log")); rerr == nil {
					t.Logf("%s log tail:\n%s", name, b[max(0, len(b)-2000):])
				}
			}
			t.Fatalf("run returned %v, want the ramp's phase timeout", res.err)
		}
	case <-time.After(2 * time.Minute):
		buf := make([]byte, 8<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("Run did not return within 2 minutes of a phase timeout; progress:\n%s\ngoroutines:\n%s", out, buf[:n])
	}
}
