package auction

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

// BenchmarkSchedule places LRP instances on 1,000 cells in 3 zones.
// "100k/batch=N" places 100,000 instances of 40,000 processes (2 or 3 each,
// 128 MB to 1 GB) in rounds of N, each round seeing the previous rounds'
// placements in the cells' states; it reports placements per second over
// the whole run. "1k/round" is one round of 1,000 instances on empty cells.
func BenchmarkSchedule(b *testing.B) {
	for _, batch := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("cells=1000/instances=100k/batch=%d", batch), func(b *testing.B) {
			lrps := benchLRPs(40000)
			var placed int
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				cells := benchCells(1000, 3)
				for i := 0; i < len(lrps); i += batch {
					b.StartTimer()
					start := time.Now()
					res := Schedule(cells, Batch{LRPs: lrps[i:min(i+batch, len(lrps))]}, DefaultConfig())
					elapsed += time.Since(start)
					b.StopTimer()
					if len(res.FailedLRPs) > 0 {
						b.Fatal(res.FailedLRPs[0].Reason)
					}
					placed += applyResult(cells, res, true)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(placed)/elapsed.Seconds(), "placements/s")
		})
	}
	b.Run("cells=1000/instances=1k/round", func(b *testing.B) {
		lrps := benchLRPs(400)[:1000]
		cells := benchCells(1000, 3)
		for b.Loop() {
			res := Schedule(cells, Batch{LRPs: lrps}, DefaultConfig())
			if len(res.FailedLRPs) > 0 {
				b.Fatal(res.FailedLRPs[0].Reason)
			}
		}
	})
}

// benchCells are n empty cells, 64 GB of memory, 128 GB of disk and 250
// containers each, spread over zones.
func benchCells(n, zones int) []rep.CellState {
	cells := make([]rep.CellState, n)
	for i := range cells {
		total := rep.Resources{MemoryMB: 64 << 10, DiskMB: 128 << 10, Containers: 250}
		cells[i] = rep.CellState{
			CellID: fmt.Sprintf("cell-%04d", i), CellIndex: i, Zone: fmt.Sprintf("z%d", i%zones),
			RootFSProviders:    rep.RootFSProviders{"preloaded": rep.NewFixedSetRootFSProvider("cflinuxfs4"), "docker": rep.ArbitraryRootFSProvider{}},
			AvailableResources: total, TotalResources: total,
		}
	}
	return cells
}

// benchLRPs are every instance of procs processes with 2 or 3 instances
// each, process by process.
func benchLRPs(procs int) []LRP {
	r := rand.New(rand.NewPCG(1, 2))
	mems := []int32{128, 256, 256, 512, 512, 1024, 1024}
	var out []LRP
	for p := range procs {
		res := rep.Resource{MemoryMB: mems[r.IntN(len(mems))], DiskMB: 1024}
		for i := range 2 + r.IntN(2) {
			out = append(out, LRP{ProcessGuid: fmt.Sprintf("proc-%05d", p), Domain: "cf-apps", Index: int32(i),
				Resource: res, Constraint: rep.PlacementConstraint{RootFs: "preloaded:cflinuxfs4"}})
		}
	}
	return out
}

// applyResult records res in the cells' states as their reps would report
// them next round: resources taken, the work listed, containers starting.
// With started, containers from earlier rounds count as started. It returns
// the number of placements.
func applyResult(cells []rep.CellState, res Result, started bool) int {
	n := 0
	for i := range cells {
		c := &cells[i]
		if started {
			c.StartingContainerCount = 0
		}
		for _, l := range res.LRPs[c.CellID] {
			c.AvailableResources.MemoryMB -= l.Resource.MemoryMB + int32(c.ProxyMemoryAllocationMB)
			c.AvailableResources.DiskMB -= l.Resource.DiskMB
			c.AvailableResources.Containers--
			c.StartingContainerCount++
			c.LRPs = append(c.LRPs, rep.NewLRP("", models.NewActualLRPKey(l.ProcessGuid, l.Index, l.Domain), l.Resource, l.Constraint))
			n++
		}
		for _, t := range res.Tasks[c.CellID] {
			c.AvailableResources.MemoryMB -= t.Resource.MemoryMB
			c.AvailableResources.DiskMB -= t.Resource.DiskMB
			c.AvailableResources.Containers--
			c.StartingContainerCount++
			c.Tasks = append(c.Tasks, rep.NewTask(t.TaskGuid, t.Domain, t.Resource, t.Constraint))
			n++
		}
	}
	return n
}

// BenchmarkNaive is the naive O(cells)-per-placement scheduler of the
// differential test on the round of BenchmarkSchedule's "1k/round", for
// comparison.
func BenchmarkNaive(b *testing.B) {
	lrps := benchLRPs(400)[:1000]
	cells := benchCells(1000, 3)
	for b.Loop() {
		naiveSchedule(cells, Batch{LRPs: lrps}, DefaultConfig())
	}
}

// BenchmarkScheduleShapes covers workloads the index is weaker or stronger
// on, each one round on 1,000 cells in 3 zones with uneven load: 100
// processes of 200 instances; one process of 5,000 instances (every cell
// soon holds it, so each placement looks at most cells, as the reference
// does); 100,000 tasks.
func BenchmarkScheduleShapes(b *testing.B) {
	many := func(procs, instances int) Batch {
		var bt Batch
		for p := range procs {
			for i := range instances {
				bt.LRPs = append(bt.LRPs, LRP{ProcessGuid: fmt.Sprintf("p%04d", p), Index: int32(i),
					Resource: rep.Resource{MemoryMB: 256, DiskMB: 1024}, Constraint: rep.PlacementConstraint{RootFs: "preloaded:cflinuxfs4"}})
			}
		}
		return bt
	}
	tasks := func(n int) Batch {
		var bt Batch
		for i := range n {
			bt.Tasks = append(bt.Tasks, Task{TaskGuid: fmt.Sprintf("t%06d", i), Resource: rep.Resource{MemoryMB: int32(128 << (i % 3)), DiskMB: 1024},
				Constraint: rep.PlacementConstraint{RootFs: "preloaded:cflinuxfs4"}})
		}
		return bt
	}
	for _, s := range []struct {
		name  string
		batch Batch
	}{{"procs=100x200", many(100, 200)}, {"procs=1x5000", many(1, 5000)}, {"tasks=100k", tasks(100000)}} {
		b.Run(s.name, func(b *testing.B) {
			var placed int
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				cells := benchCells(1000, 3)
				for i := range cells {
					cells[i].StartingContainerCount = i % 7
					cells[i].AvailableResources.MemoryMB -= int32(i * 13 % 9000)
				}
				b.StartTimer()
				start := time.Now()
				res := Schedule(cells, s.batch, DefaultConfig())
				elapsed += time.Since(start)
				placed += len(s.batch.LRPs) + len(s.batch.Tasks) - len(res.FailedLRPs) - len(res.FailedTasks)
			}
			b.ReportMetric(float64(placed)/elapsed.Seconds(), "placements/s")
		})
	}
}
