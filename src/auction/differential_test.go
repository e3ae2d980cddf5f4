package auction

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestDifferential checks, on thousands of random rounds, that Schedule
// decides exactly what the naive scheduler decides: the same cell for every
// placement, the same failures with the same reasons, the same deferrals.
func TestDifferential(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 500
	}
	opts := []genOpts{
		{maxCells: 12, maxLRPs: 30, maxTasks: 10},
		{maxCells: 60, maxLRPs: 120, maxTasks: 40},
		{maxCells: 200, maxLRPs: 300, maxTasks: 100},
	}
	for i := range n {
		seed := uint64(i)
		s := genScenario(rand.New(rand.NewPCG(seed, 1)), opts[i%len(opts)])
		got := Schedule(s.cells, s.batch, s.cfg)
		want := naiveSchedule(s.cells, s.batch, s.cfg)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("scenario %d: Schedule and the naive scheduler differ\n--- got\n%s--- want\n%s", i, render(got), render(want))
		}
	}
}
