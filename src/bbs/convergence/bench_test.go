package convergence

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// steadySnapshot is a healthy cluster of the given size: every desired index
// RUNNING on a live cell, every task fresh; actual rows in the store's order
// (process guid, index) or shuffled.
func steadySnapshot(desired, actual, tasks, cells int, shuffle bool) Snapshot {
	now := int64(100 * time.Hour)
	s := Snapshot{Now: now, Cells: map[string]struct{}{}, Domains: map[string]struct{}{"cf-apps": {}}}
	cellIDs := make([]string, cells)
	for i := range cellIDs {
		cellIDs[i] = fmt.Sprintf("cell-%04d", i)
		s.Cells[cellIDs[i]] = struct{}{}
	}
	extra := actual - 2*desired // this many LRPs get a third instance
	for i := 0; i < desired; i++ {
		d := &models.DesiredLRPSchedulingInfo{Instances: 2 + int32(btoi(i < extra))}
		d.ProcessGuid, d.Domain = fmt.Sprintf("%08x-1111-4222-8333-%012x", i, i), "cf-apps"
		s.Desired = append(s.Desired, d)
		for j := int32(0); j < d.Instances; j++ {
			cell := cellIDs[(i*3+int(j))%cells]
			l := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey(d.ProcessGuid, j, d.Domain),
				ActualLRPInstanceKey: models.NewActualLRPInstanceKey(fmt.Sprintf("ig-%d-%d", i, j), cell),
				State:                models.ActualLRPStateRunning, Since: now - int64(time.Hour),
				ModificationTag: models.ModificationTag{Epoch: "e", Index: 2}}
			s.Actual = append(s.Actual, l)
		}
	}
	if shuffle {
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(s.Actual), func(i, j int) { s.Actual[i], s.Actual[j] = s.Actual[j], s.Actual[i] })
	}
	for i := 0; i < tasks; i++ {
		t := &models.Task{TaskGuid: fmt.Sprintf("task-%06d", i), Domain: "cf-apps", TaskDefinition: &models.TaskDefinition{},
			CreatedAt: now - int64(time.Minute), UpdatedAt: now - int64(10*time.Second)}
		switch i % 3 {
		case 0:
			t.State, t.CellId = models.Task_Running, cellIDs[i%cells]
		case 1:
			t.State = models.Task_Pending
		default:
			t.State, t.FirstCompletedAt, t.CompletionCallbackUrl = models.Task_Completed, t.UpdatedAt, "http://cc/done"
		}
		s.Tasks = append(s.Tasks, t)
	}
	return s
}

// BenchmarkDecideSteadyState: 100,000 desired LRPs, 250,000 actual LRPs,
// 10,000 tasks, 1,000 cells, nothing to do; actual rows as the store returns
// them and shuffled.
func BenchmarkDecideSteadyState(b *testing.B) {
	for _, shuffle := range []bool{false, true} {
		name := map[bool]string{false: "store-order", true: "shuffled"}[shuffle]
		b.Run(name, func(b *testing.B) {
			s := steadySnapshot(100_000, 250_000, 10_000, 1_000, shuffle)
			cfg := DefaultConfig()
			if p := Decide(s, cfg); len(p.LRPs)+len(p.Tasks) != 0 {
				b.Fatalf("steady state has %d LRP and %d task actions", len(p.LRPs), len(p.Tasks))
			}
			b.ReportAllocs()
			for b.Loop() {
				Decide(s, cfg)
			}
		})
	}
}

// TestSteadyStateCost: nothing to do, and no allocation per instance: a
// constant few plus the process-guid map's tables (one per ~1,000 entries).
func TestSteadyStateCost(t *testing.T) {
	for _, n := range []int{1_000, 10_000} {
		s := steadySnapshot(n, n*5/2, n/10, 100, true)
		p := Decide(s, DefaultConfig())
		if len(p.LRPs)+len(p.Tasks) != 0 || p.Counts.Running != n*5/2 || p.Counts.DesiredInstances != n*5/2 {
			t.Fatalf("%d: steady state not recognised: %+v", n, p.Counts)
		}
		limit := 16 + float64(n)/200
		if allocs := testing.AllocsPerRun(5, func() { Decide(s, DefaultConfig()) }); allocs > limit {
			t.Fatalf("%d desired: %.0f allocations per Decide, want at most %.0f", n, allocs, limit)
		}
	}
}

// BenchmarkDecideCellsLost: the steady cluster after 100 of its 1,000 cells
// vanished: about 25,000 instances become suspect and get replacements.
func BenchmarkDecideCellsLost(b *testing.B) {
	s := steadySnapshot(100_000, 250_000, 10_000, 1_000, false)
	cells := map[string]struct{}{}
	for c := range s.Cells {
		cells[c] = struct{}{}
	}
	for i := 0; i < 100; i++ {
		delete(cells, fmt.Sprintf("cell-%04d", i*10))
	}
	s.Cells = cells
	cfg := DefaultConfig()
	p := Decide(s, cfg)
	b.ReportMetric(float64(len(p.LRPs)), "lrp-actions")
	b.ReportAllocs()
	for b.Loop() {
		Decide(s, cfg)
	}
}
