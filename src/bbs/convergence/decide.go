package convergence

import (
	"cmp"
	"slices"
	"strings"

	"code.cloudfoundry.org/bbs/models"
)

// Snapshot is the cluster state one convergence pass decides on. Decide reads
// it and never modifies it; the plan shares its rows.
//
// A pass may also be decided in parts: every decision concerns one process
// guid (its desired LRP and its rows) or one task, so snapshots holding
// disjoint sets of process guids, every row of each guid with its desired
// LRP, and the tasks in one of them, give plans whose actions together, and
// whose Counts added (Counts.Add), are those of the whole.
type Snapshot struct {
	// Now is the time of the pass, unix nanoseconds.
	Now int64
	// Desired is every desired LRP. A process guid listed twice is decided
	// on once, by its first entry.
	Desired []*models.DesiredLRPSchedulingInfo
	// Actual is every actual LRP row, every presence, in any order.
	Actual []*models.ActualLRP
	// Cells is the set of cell ids holding a presence.
	Cells map[string]struct{}
	// Domains is the set of fresh (unexpired) domains. Pruning expired
	// domains is not a decision: the caller lists only fresh ones (and may
	// delete the others), and convergence destroys nothing in a stale domain.
	Domains map[string]struct{}
	// Tasks is every task.
	Tasks []*models.Task
}

// Decide works out what convergence must do about s. It is pure: no I/O, no
// clock, no goroutines; the same snapshot and config give the same plan.
// Zero Config fields take their defaults.
func Decide(s Snapshot, cfg Config) Plan {
	cfg.fill()
	d := &decider{s: &s, cfg: &cfg, p: Plan{Now: s.Now}}
	d.lrps()
	d.tasks()
	d.finish()
	return d.p
}

// decider carries one Decide call.
type decider struct {
	s       *Snapshot
	cfg     *Config
	p       Plan
	missing map[string]struct{} // cells named by rows but holding no presence
}

// present reports whether cell holds a presence.
func (d *decider) present(cell string) bool {
	_, ok := d.s.Cells[cell]
	return ok
}

// noteMissingCell records a cell some row names that holds no presence.
func (d *decider) noteMissingCell(cell string) {
	if cell == "" {
		return
	}
	if d.missing == nil {
		d.missing = map[string]struct{}{}
	}
	d.missing[cell] = struct{}{}
}

// finish orders the plan and derives what is computed from the actions.
func (d *decider) finish() {
	slices.SortFunc(d.p.LRPs, func(a, b LRPAction) int {
		return cmp.Or(strings.Compare(a.Key.ProcessGuid, b.Key.ProcessGuid), cmp.Compare(a.Key.Index, b.Key.Index))
	})
	slices.SortFunc(d.p.Tasks, func(a, b TaskAction) int { return strings.Compare(a.Task.TaskGuid, b.Task.TaskGuid) })
	d.p.Starts = Starts(d.p.LRPs)
	for _, sr := range d.p.Starts {
		d.p.Counts.StartIndices += len(sr.Indices)
	}
	for cell := range d.missing {
		d.p.MissingCells = append(d.p.MissingCells, cell)
	}
	slices.Sort(d.p.MissingCells)
}

// actualIndex is the actual LRP rows bucketed by their desired LRP's
// position in Snapshot.Desired, built with one counting sort.
type actualIndex struct {
	// ends[p] is the end of bucket p in rows; bucket p starts at ends[p-1]
	// (0 for p == 0).
	ends    []int32
	rows    []*models.ActualLRP
	orphans []*models.ActualLRP // rows whose process guid is not desired
	skip    []int               // positions of nil or repeated desired LRPs, ascending
}

func buildIndex(desired []*models.DesiredLRPSchedulingInfo, actual []*models.ActualLRP) actualIndex {
	var x actualIndex
	pos := make(map[string]int32, len(desired))
	for i, dl := range desired {
		if dl == nil {
			x.skip = append(x.skip, i)
			continue
		}
		if _, dup := pos[dl.ProcessGuid]; dup {
			x.skip = append(x.skip, i)
			continue
		}
		pos[dl.ProcessGuid] = int32(i)
	}
	at := make([]int32, len(actual))
	starts := make([]int32, len(desired)+1)
	placed := 0
	last, lastP, lastOK := "", int32(-1), false // rows usually come grouped by process guid
	for j, a := range actual {
		p, ok := int32(-1), false
		switch {
		case a == nil:
		case a.ProcessGuid == last && j > 0:
			p, ok = lastP, lastOK
		default:
			p, ok = pos[a.ProcessGuid]
			last, lastP, lastOK = a.ProcessGuid, p, ok
		}
		if !ok {
			at[j] = -1
			if a != nil {
				x.orphans = append(x.orphans, a)
			}
			continue
		}
		at[j] = p
		starts[p+1]++
		placed++
	}
	for p := 1; p < len(starts); p++ {
		starts[p] += starts[p-1]
	}
	x.rows = make([]*models.ActualLRP, placed)
	for j, p := range at {
		if p >= 0 {
			x.rows[starts[p]] = actual[j]
			starts[p]++ // ends up as the end of bucket p
		}
	}
	x.ends = starts[:len(desired)]
	return x
}

// bucket is the rows of the desired LRP at position p.
func (x *actualIndex) bucket(p int) []*models.ActualLRP {
	lo := int32(0)
	if p > 0 {
		lo = x.ends[p-1]
	}
	return x.rows[lo:x.ends[p]]
}

// byIndex orders rows by index, then presence.
func byIndex(a, b *models.ActualLRP) int {
	return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.Presence, b.Presence))
}

// byKey orders rows by process guid, index, then presence.
func byKey(a, b *models.ActualLRP) int {
	return cmp.Or(strings.Compare(a.ProcessGuid, b.ProcessGuid), byIndex(a, b))
}

// sortSmall sorts a bucket; buckets are a few rows, usually already in order.
func sortSmall(rows []*models.ActualLRP) {
	if len(rows) > 16 {
		slices.SortFunc(rows, byIndex)
		return
	}
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && byIndex(rows[j-1], rows[j]) > 0; j-- {
			rows[j-1], rows[j] = rows[j], rows[j-1]
		}
	}
}
