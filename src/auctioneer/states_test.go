package auctioneer

import (
	"context"
	"testing"

	"code.cloudfoundry.org/rep"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
)

// Our reps' ETags and the rounds that reuse unchanged states are tested
// against the real rep API in src/rep/api (auctioneer_test.go): this
// package's tests may not import the rep's (src/internal/archtest).

// TestRoundsFetchReferenceRepsInFull: a rep that sends no ETag (the
// reference's, here the fake) is asked in full every round.
func TestRoundsFetchReferenceRepsInFull(t *testing.T) {
	cells := startCells(t, 2, []string{"z1"}, rep.NewResources(4096, 16384, 10), true)
	r := newTestRunner(t, presencesOf(cells), newRecordingBBS(), nil)
	for range 3 {
		if rr := r.Warm(context.Background()); rr.CellsFetched != 2 {
			t.Fatalf("warm-up = %+v", rr)
		}
	}
	if n := promtest.ToFloat64(r.metrics.CellStatesUnchanged); n != 0 {
		t.Errorf("%v states reused from reps that send no ETag", n)
	}
	for _, c := range cells {
		if states, _, _ := c.Requests(); states != 3 {
			t.Errorf("cell %s answered %d state requests, want 3", c.ID(), states)
		}
	}
}
