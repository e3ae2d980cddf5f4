package cell

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func lrp(guid string, mem, disk int32) rep.LRP {
	return rep.NewLRP(guid, models.NewActualLRPKey("pg-"+guid, 0, "domain"),
		rep.NewResource(mem, disk, 10), rep.NewPlacementConstraint("preloaded:cflinuxfs4", nil, nil))
}

func task(guid string, mem, disk int32) rep.Task {
	return rep.NewTask(guid, "domain", rep.NewResource(mem, disk, 10), rep.NewPlacementConstraint("preloaded:cflinuxfs4", nil, nil))
}

func newLedger(mem, disk int32, containers int) *Ledger {
	return New(Identity{CellID: "cell-1", Zone: "z1", PlacementTags: []string{"a"}}, rep.NewResources(mem, disk, containers))
}

func lrpGuids(ls []rep.LRP) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.InstanceGUID)
	}
	return out
}

func taskGuids(ts []rep.Task) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.TaskGuid)
	}
	return out
}

func TestReserve(t *testing.T) {
	tests := []struct {
		name                       string
		mem, disk                  int32
		containers                 int
		pre                        rep.Work
		work                       rep.Work
		wantLRPs, wantTasks        []string
		wantRejLRPs, wantRejTasks  []string
		wantAvailMem, wantAvailCnt int
	}{
		{
			name: "all fit", mem: 1024, disk: 1024, containers: 4,
			work:     rep.Work{LRPs: []rep.LRP{lrp("a", 256, 100), lrp("b", 256, 100)}, Tasks: []rep.Task{task("t", 256, 100)}},
			wantLRPs: []string{"a", "b"}, wantTasks: []string{"t"},
			wantAvailMem: 256, wantAvailCnt: 1,
		},
		{
			name: "memory exhausted, largest LRP first", mem: 950, disk: 1000, containers: 10,
			work:        rep.Work{LRPs: []rep.LRP{lrp("small", 300, 1), lrp("big", 600, 1), lrp("mid", 400, 1)}},
			wantLRPs:    []string{"big", "small"},
			wantRejLRPs: []string{"mid"}, wantAvailMem: 50, wantAvailCnt: 8,
		},
		{
			name: "disk exhausted", mem: 1000, disk: 100, containers: 10,
			work:      rep.Work{Tasks: []rep.Task{task("t1", 1, 60), task("t2", 1, 60)}},
			wantTasks: []string{"t1"}, wantRejTasks: []string{"t2"}, wantAvailMem: 999, wantAvailCnt: 9,
		},
		{
			name: "containers exhausted", mem: 1000, disk: 1000, containers: 2,
			work:     rep.Work{LRPs: []rep.LRP{lrp("a", 1, 1)}, Tasks: []rep.Task{task("t1", 1, 1), task("t2", 1, 1)}},
			wantLRPs: []string{"a"}, wantTasks: []string{"t1"},
			wantRejTasks: []string{"t2"}, wantAvailMem: 998, wantAvailCnt: 0,
		},
		{
			name: "exact fit", mem: 512, disk: 512, containers: 1,
			work:     rep.Work{LRPs: []rep.LRP{lrp("a", 512, 512)}},
			wantLRPs: []string{"a"}, wantAvailMem: 0, wantAvailCnt: 0,
		},
		{
			name: "duplicates of held and within the batch", mem: 1000, disk: 1000, containers: 10,
			pre:      rep.Work{LRPs: []rep.LRP{lrp("a", 1, 1)}, Tasks: []rep.Task{task("t1", 1, 1)}},
			work:     rep.Work{LRPs: []rep.LRP{lrp("a", 1, 1), lrp("b", 1, 1), lrp("b", 1, 1)}, Tasks: []rep.Task{task("t1", 1, 1), task("t2", 1, 1), task("t2", 1, 1)}},
			wantLRPs: []string{"b"}, wantTasks: []string{"t2"},
			wantRejLRPs: []string{"a", "b"}, wantRejTasks: []string{"t1", "t2"},
			wantAvailMem: 996, wantAvailCnt: 6,
		},
		{
			name: "empty guid and negative resources rejected", mem: 1000, disk: 1000, containers: 10,
			work:        rep.Work{LRPs: []rep.LRP{lrp("", 1, 1), lrp("neg", -5, 1)}, Tasks: []rep.Task{task("", 1, 1)}},
			wantRejLRPs: []string{"", "neg"}, wantRejTasks: []string{""},
			wantAvailMem: 1000, wantAvailCnt: 10,
		},
		{
			name: "lrp and task may share a guid", mem: 1000, disk: 1000, containers: 10,
			work:     rep.Work{LRPs: []rep.LRP{lrp("g", 1, 1)}, Tasks: []rep.Task{task("g", 1, 1)}},
			wantLRPs: []string{"g"}, wantTasks: []string{"g"}, wantAvailMem: 998, wantAvailCnt: 8,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(tc.mem, tc.disk, tc.containers)
			l.Reserve(tc.pre, t0)
			acc, rej := l.Reserve(tc.work, t0)
			check := func(what string, got, want []string) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("accepted LRPs", lrpGuids(acc.LRPs), tc.wantLRPs)
			check("accepted tasks", taskGuids(acc.Tasks), tc.wantTasks)
			check("rejected LRPs", lrpGuids(rej.LRPs), tc.wantRejLRPs)
			check("rejected tasks", taskGuids(rej.Tasks), tc.wantRejTasks)
			st := l.State(t0)
			if int(st.AvailableResources.MemoryMB) != tc.wantAvailMem || st.AvailableResources.Containers != tc.wantAvailCnt {
				t.Errorf("available = %+v, want memory %d containers %d", st.AvailableResources, tc.wantAvailMem, tc.wantAvailCnt)
			}
		})
	}
}

func TestReserveWhileEvacuatingRejectsAll(t *testing.T) {
	l := newLedger(1000, 1000, 10)
	l.SetEvacuating(true)
	work := rep.Work{LRPs: []rep.LRP{lrp("a", 1, 1)}, Tasks: []rep.Task{task("t", 1, 1)}}
	acc, rej := l.Reserve(work, t0)
	if len(acc.LRPs)+len(acc.Tasks) != 0 || len(rej.LRPs) != 1 || len(rej.Tasks) != 1 {
		t.Fatalf("accepted %+v rejected %+v, want all rejected", acc, rej)
	}
	if !l.State(t0).Evacuating {
		t.Error("state not evacuating")
	}
}

func TestLifecycleAndState(t *testing.T) {
	l := newLedger(1000, 1000, 10)
	l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("a", 100, 10), lrp("b", 100, 10)}, Tasks: []rep.Task{task("t1", 100, 10), task("t2", 100, 10)}}, t0)

	for _, p := range []Phase{Initializing, Created, Running} {
		if err := l.Transition(KindLRP, "a", p); err != nil {
			t.Fatalf("a to %s: %v", p, err)
		}
	}
	if err := l.Transition(KindTask, "t1", Created); err != nil { // skipping forward is fine
		t.Fatal(err)
	}
	if err := l.Complete(KindTask, "t2", true); err != nil {
		t.Fatal(err)
	}

	st := l.State(t0)
	if st.StartingContainerCount != 2 { // b reserved, t1 created
		t.Errorf("starting = %d, want 2", st.StartingContainerCount)
	}
	if st.AvailableResources != rep.NewResources(600, 960, 6) {
		t.Errorf("available = %+v", st.AvailableResources)
	}
	if st.TotalResources != rep.NewResources(1000, 1000, 10) || st.CellID != "cell-1" || st.Zone != "z1" {
		t.Errorf("identity/total wrong: %+v", st)
	}
	lrpStates := map[string]string{}
	for _, x := range st.LRPs {
		lrpStates[x.InstanceGUID] = x.State
	}
	if lrpStates["a"] != "RUNNING" || lrpStates["b"] != "CLAIMED" {
		t.Errorf("lrp states = %v", lrpStates)
	}
	if st.Tasks[0].State != models.Task_Running || st.Tasks[1].State != models.Task_Completed || !st.Tasks[1].Failed {
		t.Errorf("tasks = %+v", st.Tasks)
	}

	// Completed LRPs report SHUTDOWN, or CRASHED when failed.
	l.Complete(KindLRP, "a", false)
	l.Complete(KindLRP, "b", true)
	st = l.State(t0)
	if st.LRPs[0].State != "SHUTDOWN" || st.LRPs[1].State != "CRASHED" {
		t.Errorf("completed lrp states = %s, %s", st.LRPs[0].State, st.LRPs[1].State)
	}
	// Completed still holds resources until released.
	if st.AvailableResources.Containers != 6 {
		t.Errorf("containers after complete = %d, want 6", st.AvailableResources.Containers)
	}
	r, err := l.Release(KindLRP, "a")
	if err != nil || r.Guid != "a" || r.Phase != Completed {
		t.Fatalf("release = %+v, %v", r, err)
	}
	if got := l.State(t0).AvailableResources; got != rep.NewResources(700, 970, 7) {
		t.Errorf("available after release = %+v", got)
	}
}

func TestTransitionErrors(t *testing.T) {
	l := newLedger(1000, 1000, 10)
	l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("a", 1, 1)}}, t0)
	if err := l.Transition(KindLRP, "a", Running); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"backwards", l.Transition(KindLRP, "a", Created), ErrInvalidTransition},
		{"same", l.Transition(KindLRP, "a", Running), ErrInvalidTransition},
		{"to reserved", l.Transition(KindLRP, "a", Reserved), ErrInvalidTransition},
		{"to completed via transition", l.Transition(KindLRP, "a", Completed), ErrInvalidTransition},
		{"unknown", l.Transition(KindLRP, "nope", Running), ErrNotFound},
		{"wrong kind", l.Transition(KindTask, "a", Running), ErrNotFound},
		{"complete unknown", l.Complete(KindTask, "nope", false), ErrNotFound},
		{"release unknown", func() error { _, err := l.Release(KindTask, "nope"); return err }(), ErrNotFound},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	l.Complete(KindLRP, "a", false)
	if err := l.Complete(KindLRP, "a", false); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("double complete: %v", err)
	}
}

func TestExpire(t *testing.T) {
	l := newLedger(1000, 1000, 10)
	l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("old", 100, 1), lrp("started", 100, 1)}, Tasks: []rep.Task{task("t-old", 100, 1)}}, t0)
	l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("young", 100, 1)}}, t0.Add(time.Second))
	l.Transition(KindLRP, "started", Initializing)

	if got := l.Expire(t0.Add(ReservationTTL - time.Nanosecond)); len(got) != 0 {
		t.Fatalf("expired before 1 min: %+v", got)
	}
	got := l.Expire(t0.Add(ReservationTTL)) // exactly 1 min
	var guids []string
	for _, r := range got {
		guids = append(guids, r.Kind.String()+":"+r.Guid)
	}
	if fmt.Sprint(guids) != "[lrp:old task:t-old]" {
		t.Fatalf("expired = %v", guids)
	}
	if _, ok := l.Get(KindLRP, "old"); ok {
		t.Error("old still present")
	}
	if _, ok := l.Get(KindLRP, "started"); !ok {
		t.Error("started reservation expired")
	}
	st := l.State(t0.Add(ReservationTTL))
	if st.AvailableResources != rep.NewResources(800, 998, 8) || len(st.LRPs) != 2 || len(st.Tasks) != 0 {
		t.Errorf("state after expiry = %+v", st)
	}
	// The freed guid can be reserved again.
	if acc, _ := l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("old", 100, 1)}}, t0.Add(2*time.Minute)); len(acc.LRPs) != 1 {
		t.Error("could not re-reserve an expired guid")
	}
	if got := l.Expire(t0.Add(ReservationTTL + time.Second)); len(got) != 1 || got[0].Guid != "young" {
		t.Errorf("second expiry = %+v", got)
	}
}

func TestStateIsACopy(t *testing.T) {
	id := Identity{CellID: "c", PlacementTags: []string{"x"}, RootFSProviders: rep.RootFSProviders{"preloaded": rep.NewFixedSetRootFSProvider("cflinuxfs4")}}
	l := New(id, rep.NewResources(10, 10, 1))
	id.PlacementTags[0] = "mutated"
	st := l.State(t0)
	st.PlacementTags[0] = "mutated too"
	if got := l.State(t0).PlacementTags[0]; got != "x" {
		t.Errorf("placement tag = %q, want x", got)
	}
	if st.LRPs == nil || st.Tasks == nil {
		t.Error("empty lists should encode as [], not null")
	}
}

func TestConcurrentReserve(t *testing.T) {
	const workers, perWorker, capacity = 16, 50, 300
	l := newLedger(1<<20, 1<<20, capacity)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				// Every guid is offered twice, by two workers.
				g := fmt.Sprintf("g-%d-%d", w/2, i)
				acc, _ := l.Reserve(rep.Work{LRPs: []rep.LRP{lrp(g, 1, 1)}}, t0)
				_ = l.State(t0)
				mu.Lock()
				accepted += len(acc.LRPs)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if accepted != capacity {
		t.Errorf("accepted %d, want %d", accepted, capacity)
	}
	if st := l.State(t0); st.AvailableResources.Containers != 0 || len(st.LRPs) != capacity || st.StartingContainerCount != capacity {
		t.Errorf("state = %+v", st.AvailableResources)
	}
}
