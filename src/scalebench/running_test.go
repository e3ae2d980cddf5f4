package scalebench

import (
	"slices"
	"testing"

	"code.cloudfoundry.org/bbs/models"
)

func lrp(guid string, index int32, presence models.ActualLRP_Presence, state string) *models.ActualLRP {
	return &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey(guid, index, "d"), State: state, Presence: presence}
}

func changed(guid string, index int32, presence models.ActualLRP_Presence, before, after string) *models.ActualLRPInstanceChangedEvent {
	return &models.ActualLRPInstanceChangedEvent{
		ActualLRPKey: models.NewActualLRPKey(guid, index, "d"),
		Before:       &models.ActualLRPInfo{State: before, Presence: presence},
		After:        &models.ActualLRPInfo{State: after, Presence: presence},
	}
}

// TestRunningThroughAnEvacuation follows one index through an evacuation:
// the evacuating copy and its replacement both RUNNING count as two LRPs
// but one index, and the process never dips below desired.
func TestRunningThroughAnEvacuation(t *testing.T) {
	const ord, evac = models.ActualLRP_Ordinary, models.ActualLRP_Evacuating
	r := NewRunning()
	r.SetDesired("p", 1)
	steps := []struct {
		e             models.Event
		lrps, indexes int
	}{
		{models.NewActualLRPInstanceCreatedEvent(lrp("p", 0, ord, models.ActualLRPStateUnclaimed), ""), 0, 0},
		{changed("p", 0, ord, models.ActualLRPStateUnclaimed, models.ActualLRPStateRunning), 1, 1},
		{changed("p", 0, ord, models.ActualLRPStateUnclaimed, models.ActualLRPStateRunning), 1, 1}, // replayed
		{models.NewActualLRPInstanceCreatedEvent(lrp("p", 0, evac, models.ActualLRPStateRunning), ""), 2, 1},
		{changed("p", 0, ord, models.ActualLRPStateRunning, models.ActualLRPStateUnclaimed), 1, 1},
		{changed("p", 0, ord, models.ActualLRPStateClaimed, models.ActualLRPStateRunning), 2, 1},
		{models.NewActualLRPInstanceRemovedEvent(lrp("p", 0, evac, models.ActualLRPStateRunning), ""), 1, 1},
		{&models.DesiredLRPCreatedEvent{}, 1, 1}, // ignored
	}
	for i, s := range steps {
		r.Observe(s.e)
		if c := r.Counts(); c.LRPs != s.lrps || c.Indexes != s.indexes || c.Dips != 0 {
			t.Fatalf("step %d (%s): %+v, want %d LRPs, %d indexes, no dip", i, s.e.EventType(), c, s.lrps, s.indexes)
		}
	}
	// Without the evacuating copy, losing the instance is a dip.
	r.Observe(changed("p", 0, ord, models.ActualLRPStateRunning, models.ActualLRPStateCrashed))
	if c := r.Counts(); c.LRPs != 0 || c.Dips != 1 || c.DippedProcesses != 1 || r.Process("p") != 0 {
		t.Fatalf("after the crash: %+v, want nothing running and one dip", c)
	}
	r.Reset([]*models.ActualLRP{lrp("p", 0, ord, models.ActualLRPStateRunning), lrp("q", 3, ord, models.ActualLRPStateClaimed)})
	if c := r.Counts(); c.LRPs != 1 || c.Indexes != 1 || c.Dips != 1 {
		t.Fatalf("after a reset: %+v, want one running and the dip kept", c)
	}
}

// TestRunningResetCountsOnlyRealDips: relisting after a reconnection
// rebuilds the counts from zero without calling that a dip, but a process
// the listing finds below desired did dip; each dip is sampled with the
// event behind it.
func TestRunningResetCountsOnlyRealDips(t *testing.T) {
	const ord = models.ActualLRP_Ordinary
	run := func(s string) *models.ActualLRP {
		return lrp(s[:1], int32(s[1]-'0'), ord, models.ActualLRPStateRunning)
	}
	r := NewRunning()
	r.SetDesired("a", 3)
	r.SetDesired("b", 2)
	for _, s := range []string{"a0", "a1", "a2", "b0", "b1"} {
		r.Observe(models.NewActualLRPInstanceCreatedEvent(run(s), ""))
	}
	r.Reset([]*models.ActualLRP{run("a0"), run("a1"), run("a2"), run("b0"), run("b1")})
	if c := r.Counts(); c.Dips != 0 || c.LRPs != 5 {
		t.Fatalf("after relisting everything RUNNING: %+v, want 5 LRPs and no dip", c)
	}
	r.Reset([]*models.ActualLRP{run("a0"), run("a1"), run("a2"), run("b0")})
	if c := r.Counts(); c.Dips != 1 || c.DippedProcesses != 1 {
		t.Fatalf("after a relisting missing b1: %+v, want one dip", c)
	}
	r.Observe(models.NewActualLRPInstanceCreatedEvent(run("b1"), ""))
	r.Observe(changed("a", 2, ord, models.ActualLRPStateRunning, models.ActualLRPStateCrashed))
	want := []Dip{
		{Process: "b", Index: -1, Running: 1, Desired: 2},
		{Process: "a", Index: 2, Presence: "ORDINARY", Event: "actual_lrp_instance_changed to CRASHED", Running: 2, Desired: 3},
	}
	if got := r.Dips(); !slices.Equal(got, want) {
		t.Fatalf("dips %+v, want %+v", got, want)
	}
	r.SampleDipsFromNow()
	r.Observe(models.NewActualLRPInstanceCreatedEvent(run("a2"), ""))
	r.Observe(models.NewActualLRPInstanceRemovedEvent(run("a0"), ""))
	want = []Dip{{Process: "a", Index: 0, Presence: "ORDINARY", Event: "actual_lrp_instance_removed", Running: 2, Desired: 3}}
	if got := r.Dips(); !slices.Equal(got, want) || r.Counts().Dips != 3 {
		t.Fatalf("dips sampled from now %+v (%d in all), want %+v (3 in all)", got, r.Counts().Dips, want)
	}
}

// TestRunningTwoEvacuatingCopies: when an instance's replacement is
// evacuated in turn, the second cell's EVACUATING copy is created before
// the first cell's is removed; the index stays RUNNING throughout (the
// counter once keyed copies without their cell and saw a dip here).
func TestRunningTwoEvacuatingCopies(t *testing.T) {
	const ord, evac = models.ActualLRP_Ordinary, models.ActualLRP_Evacuating
	on := func(presence models.ActualLRP_Presence, state, cell string) *models.ActualLRP {
		l := lrp("p", 0, presence, state)
		if cell != "" {
			l.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("ig-"+cell, cell)
		}
		return l
	}
	r := NewRunning()
	r.Observe(models.NewActualLRPInstanceCreatedEvent(on(ord, models.ActualLRPStateRunning, "a"), ""))
	r.SetDesired("p", 1)
	steps := []models.Event{
		// cell a evacuates: its EVACUATING copy, the ordinary given up
		models.NewActualLRPInstanceCreatedEvent(on(evac, models.ActualLRPStateRunning, "a"), ""),
		models.NewActualLRPInstanceCreatedEvent(on(ord, models.ActualLRPStateUnclaimed, ""), ""),
		models.NewActualLRPInstanceRemovedEvent(on(ord, models.ActualLRPStateRunning, "a"), ""),
		// the replacement runs on cell b, which then evacuates too
		models.NewActualLRPInstanceChangedEvent(on(ord, models.ActualLRPStateUnclaimed, ""), on(ord, models.ActualLRPStateClaimed, "b"), ""),
		models.NewActualLRPInstanceChangedEvent(on(ord, models.ActualLRPStateClaimed, "b"), on(ord, models.ActualLRPStateRunning, "b"), ""),
		models.NewActualLRPInstanceCreatedEvent(on(evac, models.ActualLRPStateRunning, "b"), ""),
		models.NewActualLRPInstanceRemovedEvent(on(evac, models.ActualLRPStateRunning, "a"), ""),
		models.NewActualLRPInstanceCreatedEvent(on(ord, models.ActualLRPStateUnclaimed, ""), ""),
		models.NewActualLRPInstanceRemovedEvent(on(ord, models.ActualLRPStateRunning, "b"), ""),
		// the replacement's replacement runs on cell c; b's copy goes
		models.NewActualLRPInstanceChangedEvent(on(ord, models.ActualLRPStateUnclaimed, ""), on(ord, models.ActualLRPStateRunning, "c"), ""),
		models.NewActualLRPInstanceRemovedEvent(on(evac, models.ActualLRPStateRunning, "b"), ""),
	}
	for i, e := range steps {
		r.Observe(e)
		if c := r.Counts(); c.Dips != 0 || r.Process("p") != 1 {
			t.Fatalf("step %d (%s): %+v, %d indexes running, want 1 and no dip", i, e.EventType(), c, r.Process("p"))
		}
	}
	if c := r.Counts(); c.LRPs != 1 {
		t.Fatalf("at the end: %+v, want only c's copy running", c)
	}
}
