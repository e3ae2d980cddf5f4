package convergence

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// TestPropertiesOfRandomSnapshots decides on seeded random worlds, applies
// each plan as if every action committed, and checks what must always hold.
func TestPropertiesOfRandomSnapshots(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := uint64(1); seed <= uint64(n); seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		w := randomWorld(rng)
		if err := checkPass(w, rng); err != nil {
			t.Fatalf("seed %d: %v\nworld:\n%s", seed, err, strings.Join(w.describe(), "\n"))
		}
	}
}

const propNow = int64(time.Hour)

var (
	propCells   = []string{"c0", "c1", "c2", "c3"}
	propStates  = []string{models.ActualLRPStateUnclaimed, models.ActualLRPStateClaimed, models.ActualLRPStateRunning, models.ActualLRPStateCrashed}
	propCrashes = []int32{0, 1, 2, 3, 4, 8, 9, 50, 199, 200}
	// ages straddle every limit: 30s, 120s, 16m, 30m and the backoff steps.
	propAges = []time.Duration{0, time.Second, 30 * time.Second, 30*time.Second + 1, time.Minute, 2 * time.Minute,
		2*time.Minute + 1, 8 * time.Minute, 16 * time.Minute, 16*time.Minute - 1, 30 * time.Minute, 30*time.Minute + 1}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func ago(rng *rand.Rand) int64 { return propNow - int64(pick(rng, propAges)) }

func randomWorld(rng *rand.Rand) *world {
	w := newWorld()
	w.now = propNow
	for _, c := range propCells {
		if rng.IntN(3) > 0 {
			w.cells[c] = struct{}{}
		}
	}
	w.domains["fresh"] = struct{}{}
	for g := 0; g < 5; g++ {
		guid := fmt.Sprintf("g%d", g)
		domain := pick(rng, []string{"fresh", "fresh", "stale"})
		if g < 4 && rng.IntN(4) > 0 {
			d := &models.DesiredLRPSchedulingInfo{Instances: int32(rng.IntN(5))}
			d.ProcessGuid, d.Domain = guid, domain
			w.desired[guid] = d
		}
		for i := int32(0); i < 6; i++ {
			for _, p := range []struct {
				presence models.ActualLRP_Presence
				odds     int
			}{{models.ActualLRP_Ordinary, 60}, {models.ActualLRP_Suspect, 20}, {models.ActualLRP_Evacuating, 15}} {
				if rng.IntN(100) < p.odds {
					w.addRandomLRP(rng, guid, i, domain, p.presence)
				}
			}
		}
	}
	for i := 0; i < rng.IntN(8); i++ {
		w.addRandomTask(rng, fmt.Sprintf("t%d", i))
	}
	return w
}

func (w *world) addRandomLRP(rng *rand.Rand, guid string, i int32, domain string, p models.ActualLRP_Presence) {
	l := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey(guid, i, domain), Presence: p,
		Since: ago(rng), State: models.ActualLRPStateRunning,
		ModificationTag: models.ModificationTag{Epoch: fmt.Sprintf("e%d", rng.IntN(3)), Index: uint32(rng.IntN(4))}}
	switch p {
	case models.ActualLRP_Ordinary:
		l.State = pick(rng, propStates)
	case models.ActualLRP_Suspect:
		l.State = pick(rng, []string{models.ActualLRPStateRunning, models.ActualLRPStateRunning, models.ActualLRPStateClaimed})
	}
	if onCell(l) {
		cell := pick(rng, propCells)
		l.ActualLRPInstanceKey = models.NewActualLRPInstanceKey(fmt.Sprintf("%s-%d-%s", guid, i, cell), cell)
	}
	if l.State == models.ActualLRPStateCrashed {
		l.CrashCount = pick(rng, propCrashes)
	}
	w.lrps[idOf(l)] = l
}

func (w *world) addRandomTask(rng *rand.Rand, guid string) {
	t := &models.Task{TaskGuid: guid, Domain: "fresh", TaskDefinition: &models.TaskDefinition{},
		State: models.Task_State(1 + rng.IntN(4)), CreatedAt: ago(rng), UpdatedAt: ago(rng)}
	if t.State == models.Task_Running {
		t.CellId = pick(rng, propCells)
	}
	if t.State == models.Task_Completed || t.State == models.Task_Resolving {
		t.FirstCompletedAt = ago(rng)
	}
	if rng.IntN(2) == 0 {
		t.CompletionCallbackUrl = "http://cc/done"
	}
	w.tasks[guid] = t
}

// describe is the world in the scenario format, to reproduce a failure.
func (w *world) describe() []string {
	out := []string{"now " + fmtTime(w.now), "cells " + strings.Join(sortedKeys(w.cells), " "), "domains " + strings.Join(sortedKeys(w.domains), " ")}
	for _, g := range sortedKeys(w.desired) {
		d := w.desired[g]
		out = append(out, fmt.Sprintf("desired %s instances=%d domain=%s", g, d.Instances, d.Domain))
	}
	return append(out, w.render()...)
}

// checkPass runs one pass on w (which it changes) and a second on the result.
func checkPass(w *world, rng *rand.Rand) error {
	before := w.clone()
	s := w.snapshot()
	p := Decide(s, DefaultConfig())
	if err := checkOrderIndependent(w, s, p, rng); err != nil {
		return err
	}
	if err := checkShape(w, p); err != nil {
		return err
	}
	if err := checkSplit(w, s, p, rng); err != nil {
		return err
	}
	var n int
	d := materialise(p, func() string { n++; return fmt.Sprintf("n%d", n) })
	if err := checkInserts(w, d); err != nil {
		return err
	}
	if err := w.apply(d); err != nil {
		return fmt.Errorf("apply: %w\nplan:\n%s", err, strings.Join(before.renderPlan(d), "\n"))
	}
	if err := checkOutcome(before, w, p); err != nil {
		return fmt.Errorf("%w\nplan:\n%s", err, strings.Join(before.renderPlan(d), "\n"))
	}
	again := materialise(Decide(w.snapshot(), DefaultConfig()), func() string { return "again" })
	for i, cs := range again.changes {
		a := &again.plan.LRPs[i]
		if len(cs) > 0 {
			return fmt.Errorf("second pass still writes %s/%d (%s)\nfirst plan:\n%s\nsecond plan:\n%s",
				a.Key.ProcessGuid, a.Key.Index, a.Why, strings.Join(before.renderPlan(d), "\n"), strings.Join(w.renderPlan(again), "\n"))
		}
	}
	for _, a := range again.plan.Tasks {
		if a.After != nil || a.Delete {
			return fmt.Errorf("second pass still writes task %s (%s)", a.Task.TaskGuid, a.Kind)
		}
	}
	return nil
}

func (w *world) clone() *world {
	c := newWorld()
	c.now, c.cells, c.domains, c.desired = w.now, w.cells, w.domains, w.desired
	for k, v := range w.lrps {
		c.lrps[k] = v
	}
	for k, v := range w.tasks {
		c.tasks[k] = v
	}
	return c
}

// checkOrderIndependent: shuffling the snapshot's slices changes nothing.
func checkOrderIndependent(w *world, s Snapshot, p Plan, rng *rand.Rand) error {
	sh := s
	sh.Desired, sh.Actual, sh.Tasks = slices.Clone(s.Desired), slices.Clone(s.Actual), slices.Clone(s.Tasks)
	rng.Shuffle(len(sh.Desired), func(i, j int) { sh.Desired[i], sh.Desired[j] = sh.Desired[j], sh.Desired[i] })
	rng.Shuffle(len(sh.Actual), func(i, j int) { sh.Actual[i], sh.Actual[j] = sh.Actual[j], sh.Actual[i] })
	rng.Shuffle(len(sh.Tasks), func(i, j int) { sh.Tasks[i], sh.Tasks[j] = sh.Tasks[j], sh.Tasks[i] })
	a := strings.Join(w.renderPlan(materialise(p, func() string { return "x" })), "\n")
	b := strings.Join(w.renderPlan(materialise(Decide(sh, DefaultConfig()), func() string { return "x" })), "\n")
	if a != b {
		return fmt.Errorf("plan depends on input order:\n%s\n---\n%s", a, b)
	}
	return nil
}

// checkShape: one action per index, in order, matching the snapshot, with
// counts and starts that agree with the actions.
func checkShape(w *world, p Plan) error {
	var bits [numReasons]int
	stops, auctions := 0, 0
	for i := range p.LRPs {
		a := &p.LRPs[i]
		if i > 0 && byKeyOf(&p.LRPs[i-1]) >= byKeyOf(a) {
			return fmt.Errorf("actions out of order or repeated at %s", byKeyOf(a))
		}
		if !a.Unchanged(w.group(a.Key.ProcessGuid, a.Key.Index)) {
			return fmt.Errorf("%s: rows do not match the snapshot", byKeyOf(a))
		}
		for b := 0; b < numReasons; b++ {
			bits[b] += btoi(a.Why&(1<<b) != 0)
		}
		stops += btoi(a.Stop != nil)
		auctions += btoi(a.Auction)
	}
	if bits != p.Counts.LRPActions || stops != p.Counts.Stops || auctions != p.Counts.StartIndices {
		return fmt.Errorf("counts disagree with actions: %+v", p.Counts)
	}
	for i, sr := range p.Starts {
		if !slices.IsSorted(sr.Indices) || (i > 0 && p.Starts[i-1].Desired.ProcessGuid >= sr.Desired.ProcessGuid) {
			return fmt.Errorf("starts not grouped and ordered: %+v", p.Starts)
		}
	}
	return nil
}

func byKeyOf(a *LRPAction) string { return fmt.Sprintf("%s/%09d", a.Key.ProcessGuid, a.Key.Index) }

// checkInserts: an ORDINARY row is inserted only where none is left.
func checkInserts(w *world, d decided) error {
	for i, cs := range d.changes {
		a := &d.plan.LRPs[i]
		hasOrdinary := w.lrps[lrpID{a.Key.ProcessGuid, a.Key.Index, models.ActualLRP_Ordinary}] != nil
		for _, c := range cs {
			if c.Before != nil && c.Before.Presence == models.ActualLRP_Ordinary {
				hasOrdinary = false
			}
			if c.After != nil && c.After.Presence == models.ActualLRP_Ordinary && c.Before == nil && hasOrdinary {
				return fmt.Errorf("%s: second ORDINARY row inserted", byKeyOf(a))
			}
		}
	}
	return nil
}

// checkOutcome compares the world before and after applying p.
func checkOutcome(before, after *world, p Plan) error {
	live := func(l *models.ActualLRP) bool {
		if l == nil || l.State != models.ActualLRPStateRunning {
			return false
		}
		_, ok := before.cells[l.CellId]
		return ok
	}
	stopped := map[string]bool{}
	for _, a := range p.LRPs {
		if a.Stop != nil {
			stopped[fmt.Sprintf("%s/%d", a.Key.ProcessGuid, a.Key.Index)] = true
		}
	}
	for guid, d := range before.desired {
		for i := int32(0); i < d.Instances; i++ {
			ob, sb := before.lrps[lrpID{guid, i, 0}], before.lrps[lrpID{guid, i, models.ActualLRP_Suspect}]
			oa, sa := after.lrps[lrpID{guid, i, 0}], after.lrps[lrpID{guid, i, models.ActualLRP_Suspect}]
			where := fmt.Sprintf("%s/%d", guid, i)
			switch {
			case oa == nil && sa == nil:
				return fmt.Errorf("%s: desired index left with no instance", where)
			case stopped[where]:
				return fmt.Errorf("%s: desired index stopped", where)
			case ob != nil && live(ob) && oa != ob:
				return fmt.Errorf("%s: ORDINARY instance running on a live cell was touched", where)
			case (live(ob) || live(sb)) && !live(oa):
				return fmt.Errorf("%s: the only live running instance was removed", where)
			case sa != nil && live(oa):
				return fmt.Errorf("%s: suspect kept beside a live running replacement", where)
			}
		}
	}
	for id, l := range before.lrps {
		if after.lrps[id] == l || before.wanted(l) {
			continue
		}
		_, fresh := before.domains[l.Domain]
		_, cellUp := before.cells[l.CellId]
		if !fresh && !(l.Presence == models.ActualLRP_Evacuating && !cellUp) {
			return fmt.Errorf("%s/%d %s: changed in a stale domain", l.ProcessGuid, l.Index, presenceName(l.Presence))
		}
	}
	return nil
}

// wanted reports whether l's index is below its desired LRP's instances.
func (w *world) wanted(l *models.ActualLRP) bool {
	d := w.desired[l.ProcessGuid]
	return d != nil && l.Index < d.Instances
}
