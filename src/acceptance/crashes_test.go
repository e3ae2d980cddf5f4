package acceptance

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

// testCrashes desires an app that exits 1 a second after starting and
// follows its one instance: the first two crashes restart at once (no
// CRASHED state between), the third leaves it CRASHED for the backoff
// (30 s in the reference), after which it runs again.
func testCrashes(t *testing.T, e *env) {
	d := e.domain(t)
	g := guid(t, "app")
	e.desire(t, e.appLRP(g, d, 1, &models.EnvironmentVariable{Name: "CRASH_AFTER", Value: "1s"}))

	var (
		start      = time.Now()
		crashedAt  time.Time // first seen CRASHED with crash_count 3
		lastCount  int32
		lastReason string
		history    []string // state/crash_count@time, on each change
		last       string
	)
	see := func(l *models.ActualLRP) {
		if s := fmt.Sprintf("%s/%d", l.State, l.CrashCount); s != last {
			last = s
			history = append(history, fmt.Sprintf("%s@%.1fs", s, time.Since(start).Seconds()))
		}
	}
	// watchOne waits until cond holds for the app's one instance, seeing
	// every state it passes through.
	watchOne := func(within time.Duration, what string, cond func(l *models.ActualLRP) bool) {
		t.Helper()
		testutil.Eventually(t, within, what, func() (bool, string) {
			lrps := e.actuals(t, g)
			if len(lrps) != 1 {
				return false, describe(lrps)
			}
			see(lrps[0])
			if cond(lrps[0]) {
				return true, ""
			}
			return false, describe(lrps)
		})
	}
	watchOne(45*time.Second, "three crashes, the first two restarted at once, then CRASHED", func(l *models.ActualLRP) bool {
		lastCount, lastReason = l.CrashCount, l.CrashReason
		if l.State == models.ActualLRPStateCrashed && l.CrashCount < 3 {
			t.Fatalf("CRASHED after %d crash(es): the first restarts must be immediate; history %v", l.CrashCount, history)
		}
		if l.State == models.ActualLRPStateCrashed && l.CrashCount >= 3 {
			crashedAt = time.Now()
			return true
		}
		return false
	})
	if lastCount != 3 {
		t.Errorf("crash_count when first CRASHED = %d, want 3; history %v", lastCount, history)
	}
	if !strings.Contains(lastReason, "Exited with status 1") {
		t.Errorf("crash_reason = %q, want it to say %q", lastReason, "Exited with status 1")
	}

	// The backoff: CRASHED (not restarted) for a while, then restarted.
	watchOne(60*time.Second, "the CRASHED instance restarted after its backoff", func(l *models.ActualLRP) bool {
		return l.State != models.ActualLRPStateCrashed || l.CrashCount > 3
	})
	waited := time.Since(crashedAt)
	if waited < 20*time.Second {
		t.Errorf("restarted %s after the third crash, want a backoff of about 30s; history %v", waited.Round(100*time.Millisecond), history)
	}
	t.Logf("restarted %s after the third crash; history %v", waited.Round(100*time.Millisecond), history)
}
