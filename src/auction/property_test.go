package auction

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"code.cloudfoundry.org/rep"
)

// forScenarios runs check on n random rounds of each shape.
func forScenarios(t *testing.T, n int, check func(t *testing.T, i int, s scenario)) {
	if testing.Short() {
		n /= 5
	}
	shapes := []genOpts{
		{maxCells: 12, maxLRPs: 40, maxTasks: 15},
		{maxCells: 80, maxLRPs: 200, maxTasks: 60},
		{maxCells: 40, maxLRPs: 200, maxTasks: 20, ample: true},
	}
	for i := range n {
		check(t, i, genScenario(rand.New(rand.NewPCG(uint64(i), 2)), shapes[i%len(shapes)]))
	}
}

// liveByID is each live cell by id, as Schedule sees it (the first given).
func liveByID(cells []rep.CellState) map[string]*rep.CellState {
	m := map[string]*rep.CellState{}
	for i := range cells {
		if _, dup := m[cells[i].CellID]; !dup && !cells[i].Evacuating {
			m[cells[i].CellID] = &cells[i]
		}
	}
	return m
}

// TestNoCellOverCapacity: what a round places on a cell fits in the
// memory, disk and containers the cell had free; nothing goes to an
// evacuating or unknown cell.
func TestNoCellOverCapacity(t *testing.T) {
	forScenarios(t, 3000, func(t *testing.T, i int, s scenario) {
		res := Schedule(s.cells, s.batch, s.cfg)
		live := liveByID(s.cells)
		used := map[string]*rep.Resources{}
		for id, lrps := range res.LRPs {
			c := live[id]
			if c == nil {
				t.Fatalf("scenario %d: placed on %s, not a live cell", i, id)
			}
			u := use(used, id)
			for _, l := range lrps {
				u.MemoryMB += l.Resource.MemoryMB + int32(c.ProxyMemoryAllocationMB)
				u.DiskMB += l.Resource.DiskMB
				u.Containers++
			}
		}
		for id, tasks := range res.Tasks {
			if live[id] == nil {
				t.Fatalf("scenario %d: placed on %s, not a live cell", i, id)
			}
			u := use(used, id)
			for _, tk := range tasks {
				u.MemoryMB += tk.Resource.MemoryMB
				u.DiskMB += tk.Resource.DiskMB
				u.Containers++
			}
		}
		for id, u := range used {
			a := live[id].AvailableResources
			if u.MemoryMB > a.MemoryMB || u.DiskMB > a.DiskMB || u.Containers > a.Containers {
				t.Fatalf("scenario %d: cell %s over capacity: free %+v, placed %+v", i, id, a, *u)
			}
		}
	})
}

func use(m map[string]*rep.Resources, id string) *rep.Resources {
	if m[id] == nil {
		m[id] = &rep.Resources{}
	}
	return m[id]
}

// TestEveryRequestOnce: every distinct request is placed, failed with a
// reason, or deferred, exactly once; duplicates appear once, as given first.
func TestEveryRequestOnce(t *testing.T) {
	forScenarios(t, 3000, func(t *testing.T, i int, s scenario) {
		res := Schedule(s.cells, s.batch, s.cfg)
		seen := map[any]int{}
		for _, lrps := range res.LRPs {
			for _, l := range lrps {
				seen[lrpID(l)]++
			}
		}
		for _, tasks := range res.Tasks {
			for _, tk := range tasks {
				seen[taskID(tk)]++
			}
		}
		for _, f := range res.FailedLRPs {
			seen[lrpID(f.LRP)]++
			if f.Reason == "" {
				t.Fatalf("scenario %d: %s failed without a reason", i, lrpName(f.LRP))
			}
		}
		for _, f := range res.FailedTasks {
			seen[taskID(f.Task)]++
			if f.Reason == "" {
				t.Fatalf("scenario %d: task %s failed without a reason", i, f.Task.TaskGuid)
			}
		}
		for _, l := range res.Deferred.LRPs {
			seen[lrpID(l)]++
		}
		for _, tk := range res.Deferred.Tasks {
			seen[taskID(tk)]++
		}
		want := map[any]int{}
		firstLRP := map[lrpKey]bool{}
		for _, l := range s.batch.LRPs {
			if k := (lrpKey{l.ProcessGuid, l.Index}); !firstLRP[k] {
				firstLRP[k] = true
				want[lrpID(l)] = 1
			}
		}
		firstTask := map[string]bool{}
		for _, tk := range s.batch.Tasks {
			if !firstTask[tk.TaskGuid] {
				firstTask[tk.TaskGuid] = true
				want[taskID(tk)] = 1
			}
		}
		if !reflect.DeepEqual(seen, want) {
			t.Fatalf("scenario %d: requests seen %v, want each once: %v", i, seen, want)
		}
	})
}

// lrpID and taskID are comparable identities for requests (which hold
// slices); a duplicate given later differs from the first in memory.
type lrpIdentity struct {
	guid      string
	index     int32
	mem, disk int32
}

func lrpID(l LRP) lrpIdentity {
	return lrpIdentity{l.ProcessGuid, l.Index, l.Resource.MemoryMB, l.Resource.DiskMB}
}

type taskIdentity struct {
	guid      string
	mem, disk int32
}

func taskID(t Task) taskIdentity {
	return taskIdentity{t.TaskGuid, t.Resource.MemoryMB, t.Resource.DiskMB}
}

// TestSameSeedSameResult: a round is a function of its inputs and seed,
// and not of the order the cells are listed in.
func TestSameSeedSameResult(t *testing.T) {
	forScenarios(t, 1500, func(t *testing.T, i int, s scenario) {
		first := Schedule(s.cells, s.batch, s.cfg)
		if again := Schedule(s.cells, s.batch, s.cfg); !reflect.DeepEqual(first, again) {
			t.Fatalf("scenario %d: two runs differ\n%s---\n%s", i, render(first), render(again))
		}
		shuffled := append([]rep.CellState(nil), s.cells...)
		rand.New(rand.NewPCG(uint64(i), 3)).Shuffle(len(shuffled), func(a, b int) {
			shuffled[a], shuffled[b] = shuffled[b], shuffled[a]
		})
		if other := Schedule(shuffled, s.batch, s.cfg); !reflect.DeepEqual(first, other) {
			t.Fatalf("scenario %d: reordering the cells changed the round\n%s---\n%s", i, render(first), render(other))
		}
	})
}

// TestZoneSkew: a process's instances stay balanced across zones. With no
// instances before the round and the same size and constraint for every
// instance, no zone ends with more than one instance above a zone that
// still has a compatible cell with room for one more.
func TestZoneSkew(t *testing.T) {
	forScenarios(t, 3000, func(t *testing.T, i int, s scenario) {
		s.batch.LRPs = uniformProcesses(s.batch.LRPs)
		batchProcs := map[string]bool{}
		for _, l := range s.batch.LRPs {
			batchProcs[l.ProcessGuid] = true
		}
		for c := range s.cells {
			s.cells[c].LRPs = slices.DeleteFunc(s.cells[c].LRPs, func(l rep.LRP) bool { return batchProcs[l.ProcessGuid] })
		}
		res := Schedule(s.cells, s.batch, s.cfg)
		applyResult(s.cells, res, false)
		live := liveByID(s.cells)
		for p, inst := range firstInstances(s.batch.LRPs) {
			perZone, roomy := map[string]int{}, map[string]bool{}
			for _, c := range live {
				for _, l := range c.LRPs {
					if l.ProcessGuid == p {
						perZone[c.Zone]++
					}
				}
				mem := inst.Resource.MemoryMB + int32(c.ProxyMemoryAllocationMB)
				a := c.AvailableResources
				if stage(c, &inst.Constraint) == compatible && a.MemoryMB >= mem && a.DiskMB >= inst.Resource.DiskMB && a.Containers >= 1 {
					roomy[c.Zone] = true
				}
			}
			most := 0
			for _, n := range perZone {
				most = max(most, n)
			}
			for z := range roomy {
				if most-perZone[z] > 1 {
					t.Fatalf("scenario %d: process %s has %d instances in zone %q, which has room, and %d in another: %v",
						i, p, perZone[z], z, most, perZone)
				}
			}
		}
	})
}

// uniformProcesses gives every instance of a process the size and
// constraint of its first.
func uniformProcesses(lrps []LRP) []LRP {
	first := firstInstances(lrps)
	out := make([]LRP, len(lrps))
	for i, l := range lrps {
		l.Resource, l.Constraint = first[l.ProcessGuid].Resource, first[l.ProcessGuid].Constraint
		out[i] = l
	}
	return out
}

func firstInstances(lrps []LRP) map[string]LRP {
	first := map[string]LRP{}
	for _, l := range lrps {
		if _, ok := first[l.ProcessGuid]; !ok {
			first[l.ProcessGuid] = l
		}
	}
	return first
}
