package simcells

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/container/host"
)

// TestCellStopHonoursItsDeadline stops a cell running many instances with
// a context that has already ended: Stop gives up at once and says so.
// Then another cell is stopped with time to spare: all its instances are
// removed (a few at a time) and RUNNING on the cell left.
func TestCellStopHonoursItsDeadline(t *testing.T) {
	const n = 180
	s := startSystemWith(t, 3, host.Settings{MemoryMB: 64 * n, DiskMB: 64 * n, MaxContainers: n})
	if err := s.bbs.Client.DesireLRP(s.log, "", app("many", n)); err != nil {
		t.Fatal(err)
	}
	by := s.waitRunning(t, n, "every instance RUNNING")
	victim := s.cells.Cell(busiest(by))
	t.Logf("stopping %s with %d instances and an ended context", victim.ID, len(by[victim.ID]))
	s.cutShort[victim.ID] = true

	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if err := stopWithin(t, victim, ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with an ended context returned %v, want it cut short by its deadline", err)
	}
	if again := victim.Stop(context.Background()); !errors.Is(again, context.DeadlineExceeded) {
		t.Errorf("a second Stop returned %v, want the first one's result", again)
	}
	by = s.waitRunning(t, n, "every instance RUNNING on the other cells", victim.ID)

	second := s.cells.Cell(busiest(by))
	t.Logf("stopping %s with %d instances", second.ID, len(by[second.ID]))
	ctx2, cancel2 := context.WithTimeout(context.Background(), waitFor)
	defer cancel2()
	if err := stopWithin(t, second, ctx2); err != nil {
		t.Fatalf("stopping %s: %v", second.ID, err)
	}
	s.waitRunning(t, n, "every instance RUNNING on the last cell", victim.ID, second.ID)
}

// stopWithin stops c with ctx, failing the test with a goroutine dump if
// Stop has not returned within waitFor of ctx's end.
func stopWithin(t *testing.T, c *Cell, ctx context.Context) error {
	t.Helper()
	stopped := make(chan error, 1)
	go func() { stopped <- c.Stop(ctx) }()
	select {
	case err := <-stopped:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-stopped:
		return err
	case <-time.After(waitFor):
		buf := make([]byte, 4<<20)
		t.Fatalf("%s's Stop did not return within %v of its context's end; goroutines:\n%s", c.ID, waitFor, buf[:runtime.Stack(buf, true)])
		return nil
	}
}

// TestCellsReportTheirSyncs: every cell's rep completes bulk syncs (every
// 2 s here) and the cell reports one that started after a given time.
func TestCellsReportTheirSyncs(t *testing.T) {
	s := startSystem(t, 3)
	t0 := time.Now()
	for _, c := range s.cells.All() {
		if c.SyncedSince(t0.Add(time.Hour)) {
			t.Errorf("%s reports a sync in the future", c.ID)
		}
	}
	testutil.WaitFor(t, waitFor, "every cell to sync after t0", func() bool {
		for _, c := range s.cells.All() {
			if !c.SyncedSince(t0) {
				return false
			}
		}
		return true
	})
	for _, c := range s.cells.All() {
		if c.FailedSyncs() != 0 || c.Stopping() {
			t.Errorf("%s: %d failed syncs, stopping %v", c.ID, c.FailedSyncs(), c.Stopping())
		}
	}
}
