package lifecycle

import (
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"
)

var (
	key   = models.NewActualLRPKey("pg", 0, "d")
	ikA   = models.NewActualLRPInstanceKey("ig-a", "cell-a")
	ikB   = models.NewActualLRPInstanceKey("ig-b", "cell-b")
	netA  = models.NewActualLRPNetInfo("10.0.0.1", "10.1.0.1", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61000, 8080))
	riA   = RunningInfo{NetInfo: netA, Routable: true, AvailabilityZone: "z1"}
	fixed = models.NewDefaultRestartCalculator()
)

func lrp(state string, ik models.ActualLRPInstanceKey, p models.ActualLRP_Presence) *models.ActualLRP {
	return &models.ActualLRP{ActualLRPKey: key, ActualLRPInstanceKey: ik, State: state, Presence: p,
		ModificationTag: models.ModificationTag{Epoch: "e", Index: 1}, Since: 1}
}

func ord(state string, ik models.ActualLRPInstanceKey) *models.ActualLRP {
	return lrp(state, ik, models.ActualLRP_Ordinary)
}

var none = models.ActualLRPInstanceKey{}

func TestClaim(t *testing.T) {
	cases := []transitionCase{
		{"unclaimed", Group{ord("UNCLAIMED", none)}, ikA, nil, 1},
		{"already claimed by me", Group{ord("CLAIMED", ikA)}, ikA, nil, 0},
		{"claimed by other", Group{ord("CLAIMED", ikB)}, ikA, models.ErrActualLRPCannotBeClaimed, 0},
		{"running by me", Group{ord("RUNNING", ikA)}, ikA, nil, 1},
		{"running by other", Group{ord("RUNNING", ikB)}, ikA, models.ErrActualLRPCannotBeClaimed, 0},
		{"crashed", Group{ord("CRASHED", none)}, ikA, models.ErrActualLRPCannotBeClaimed, 0},
		{"missing", Group{}, ikA, models.ErrResourceNotFound, 0},
		{"suspect copy", Group{lrp("RUNNING", ikA, models.ActualLRP_Suspect), ord("UNCLAIMED", none)}, ikA, nil, 0},
	}
	claim := func(g Group, ik models.ActualLRPInstanceKey) (Plan, error) { return Claim(g, ik, 100) }
	runTransitions(t, cases, claim, func(t *testing.T, c transitionCase, p Plan) {
		if c.changes == 1 {
			a := p.Changes[0].After
			if a.State != "CLAIMED" || a.ActualLRPInstanceKey != c.ik || a.ModificationTag.Index != 2 || a.Since != 100 {
				t.Fatalf("after = %+v", a)
			}
		}
	})
}

// transitionCase is a starting group and an instance key with the error and
// the number of row changes a transition must produce from them.
type transitionCase struct {
	name    string
	g       Group
	ik      models.ActualLRPInstanceKey
	err     error
	changes int
}

// runTransitions runs op on each case as a subtest, checks its error and
// change count, then hands the plan to check.
func runTransitions(t *testing.T, cases []transitionCase, op func(Group, models.ActualLRPInstanceKey) (Plan, error), check func(*testing.T, transitionCase, Plan)) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := op(c.g, c.ik)
			if err != c.err {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if len(p.Changes) != c.changes {
				t.Fatalf("changes = %d, want %d", len(p.Changes), c.changes)
			}
			check(t, c, p)
		})
	}
}

func TestClaimClearsPlacementError(t *testing.T) {
	l := ord("UNCLAIMED", none)
	l.PlacementError = "insufficient resources"
	p, _ := Claim(Group{l}, ikA, 2)
	if p.Changes[0].After.PlacementError != "" {
		t.Fatal("placement error kept")
	}
	if l.State != "UNCLAIMED" {
		t.Fatal("input row mutated")
	}
}

func TestStart(t *testing.T) {
	running := ord("RUNNING", ikA)
	riA.apply(running)
	cases := []transitionCase{
		{"claimed by me", Group{ord("CLAIMED", ikA)}, ikA, nil, 1},
		{"claimed by other (reference allows)", Group{ord("CLAIMED", ikB)}, ikA, nil, 1},
		{"unclaimed", Group{ord("UNCLAIMED", none)}, ikA, nil, 1},
		{"running same info", Group{running}, ikA, nil, 0},
		{"running by other", Group{ord("RUNNING", ikB)}, ikA, models.ErrActualLRPCannotBeStarted, 0},
		{"missing creates", Group{}, ikA, nil, 1},
		{"replaces evacuating", Group{ord("CLAIMED", ikA), lrp("RUNNING", ikB, models.ActualLRP_Evacuating)}, ikA, nil, 2},
		{"replaces suspect", Group{ord("CLAIMED", ikA), lrp("RUNNING", ikB, models.ActualLRP_Suspect)}, ikA, nil, 2},
	}
	start := func(g Group, ik models.ActualLRPInstanceKey) (Plan, error) {
		return Start(g, key, ik, riA, "new-epoch", 100)
	}
	runTransitions(t, cases, start, func(t *testing.T, c transitionCase, p Plan) {
		if c.changes > 0 {
			a := p.Changes[0].After
			if a.State != "RUNNING" || a.ActualLRPNetInfo.Address != "10.0.0.1" || !a.GetRoutable() || a.AvailabilityZone != "z1" {
				t.Fatalf("after = %+v", a)
			}
			for _, ch := range p.Changes[1:] {
				if ch.After != nil {
					t.Fatalf("extra change is not a delete: %+v", ch)
				}
			}
		}
	})
}

func TestCrash(t *testing.T) {
	t.Run("first crashes restart at once", func(t *testing.T) {
		p, err := Crash(Group{ord("RUNNING", ikA)}, ikA, "boom", fixed, 10)
		if err != nil {
			t.Fatal(err)
		}
		a := p.Changes[0].After
		if a.State != "UNCLAIMED" || !p.Auction || !p.Crashed || a.CrashCount != 1 || a.CrashReason != "boom" || !a.ActualLRPInstanceKey.Empty() {
			t.Fatalf("plan = %+v after = %+v", p, a)
		}
	})
	t.Run("third crash waits", func(t *testing.T) {
		l := ord("RUNNING", ikA)
		l.CrashCount = 2
		p, _ := Crash(Group{l}, ikA, "boom", fixed, 10)
		if a := p.Changes[0].After; a.State != "CRASHED" || p.Auction || a.CrashCount != 3 {
			t.Fatalf("after = %+v auction=%v", a, p.Auction)
		}
	})
	t.Run("long run resets count", func(t *testing.T) {
		l := ord("RUNNING", ikA)
		l.CrashCount = 50
		p, _ := Crash(Group{l}, ikA, "boom", fixed, l.Since+CrashCountResetAfter)
		if a := p.Changes[0].After; a.CrashCount != 1 || a.State != "UNCLAIMED" {
			t.Fatalf("after = %+v", a)
		}
	})
	t.Run("other instance", func(t *testing.T) {
		if _, err := Crash(Group{ord("RUNNING", ikB)}, ikA, "x", fixed, 1); err != models.ErrActualLRPCannotBeCrashed {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unclaimed", func(t *testing.T) {
		if _, err := Crash(Group{ord("UNCLAIMED", none)}, ikA, "x", fixed, 1); err != models.ErrActualLRPCannotBeCrashed {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("suspect copy is removed", func(t *testing.T) {
		s := lrp("RUNNING", ikA, models.ActualLRP_Suspect)
		p, err := Crash(Group{s, ord("UNCLAIMED", none)}, ikA, "x", fixed, 1)
		if err != nil || len(p.Changes) != 1 || p.Changes[0].Before != s || p.Changes[0].After != nil {
			t.Fatalf("plan = %+v err = %v", p, err)
		}
	})
}

func TestFailRemoveUnclaim(t *testing.T) {
	if p, err := Fail(Group{ord("UNCLAIMED", none)}, "no cells", 5); err != nil || p.Changes[0].After.PlacementError != "no cells" {
		t.Fatalf("fail: %+v %v", p, err)
	}
	if _, err := Fail(Group{ord("RUNNING", ikA)}, "x", 5); err != models.ErrActualLRPCannotBeFailed {
		t.Fatalf("fail running: %v", err)
	}
	if _, err := Remove(Group{ord("RUNNING", ikA)}, &ikB); err != models.ErrActualLRPCannotBeRemoved {
		t.Fatalf("remove other: %v", err)
	}
	if p, err := Remove(Group{ord("RUNNING", ikA)}, nil); err != nil || p.Changes[0].After != nil {
		t.Fatalf("remove: %+v %v", p, err)
	}
	if _, err := Remove(Group{}, nil); err != models.ErrResourceNotFound {
		t.Fatalf("remove missing: %v", err)
	}
	if _, err := Unclaim(Group{ord("CRASHED", none)}, 1); err != models.ErrActualLRPCannotBeUnclaimed {
		t.Fatalf("unclaim crashed: %v", err)
	}
}

func TestEvacuateRunning(t *testing.T) {
	t.Run("ordinary on evacuating cell is copied and re-auctioned", func(t *testing.T) {
		o := ord("RUNNING", ikA)
		p, err := EvacuateRunning(Group{o}, key, ikA, riA, "ev", 5)
		if err != nil || !p.KeepContainer || !p.Auction || len(p.Changes) != 2 {
			t.Fatalf("plan = %+v err = %v", p, err)
		}
		ev, un := p.Changes[0].After, p.Changes[1].After
		if ev.Presence != models.ActualLRP_Evacuating || ev.ActualLRPInstanceKey != ikA || un.State != "UNCLAIMED" {
			t.Fatalf("evac = %+v unclaimed = %+v", ev, un)
		}
	})
	t.Run("replacement running lets go", func(t *testing.T) {
		ev := lrp("RUNNING", ikA, models.ActualLRP_Evacuating)
		p, _ := EvacuateRunning(Group{ord("RUNNING", ikB), ev}, key, ikA, riA, "ev", 5)
		if p.KeepContainer || len(p.Changes) != 1 || p.Changes[0].After != nil {
			t.Fatalf("plan = %+v", p)
		}
	})
	t.Run("replacement claimed keeps waiting", func(t *testing.T) {
		ev := lrp("RUNNING", ikA, models.ActualLRP_Evacuating)
		riA.apply(ev)
		p, _ := EvacuateRunning(Group{ord("CLAIMED", ikB), ev}, key, ikA, riA, "ev", 5)
		if !p.KeepContainer || len(p.Changes) != 0 {
			t.Fatalf("plan = %+v", p)
		}
	})
	t.Run("desired gone", func(t *testing.T) {
		p, _ := EvacuateRunning(Group{}, key, ikA, riA, "ev", 5)
		if p.KeepContainer {
			t.Fatalf("plan = %+v", p)
		}
	})
}

func TestEvacuateOthers(t *testing.T) {
	ev := lrp("RUNNING", ikA, models.ActualLRP_Evacuating)
	if p, err := EvacuateStopped(Group{ord("CLAIMED", ikB), ev}, ikA); err != nil || p.Changes[0].Before != ev {
		t.Fatalf("stopped evacuating copy: %+v %v", p, err)
	}
	if p, err := EvacuateClaimed(Group{ord("CLAIMED", ikA)}, ikA, 3); err != nil || !p.Auction || p.KeepContainer {
		t.Fatalf("claimed: %+v %v", p, err)
	}
	if p, err := EvacuateCrashed(Group{ord("RUNNING", ikA)}, ikA, "oops", fixed, 3); err != nil || !p.Crashed {
		t.Fatalf("crashed: %+v %v", p, err)
	}
	if _, err := RemoveEvacuating(Group{ord("RUNNING", ikA)}, ikA); err != models.ErrResourceNotFound {
		t.Fatalf("remove evacuating of ordinary: %v", err)
	}
}

func TestTaskTransitions(t *testing.T) {
	pending := NewTask("t", "d", &models.TaskDefinition{}, 1)
	running, should, err := StartTask(pending, "c1", 2)
	if err != nil || !should || running.State != models.Task_Running || running.CellId != "c1" {
		t.Fatalf("start: %+v %v %v", running, should, err)
	}
	if _, should, err := StartTask(running, "c1", 3); err != nil || should {
		t.Fatalf("restart same cell: %v %v", should, err)
	}
	if _, _, err := StartTask(running, "c2", 3); !isType(err, models.Error_InvalidStateTransition) {
		t.Fatalf("start on other cell: %v", err)
	}
	if _, err := CompleteTask(running, "c2", false, "", "r", 4); !isType(err, models.Error_RunningOnDifferentCell) {
		t.Fatalf("complete other cell: %v", err)
	}
	done, err := CompleteTask(running, "c1", false, "", "result", 4)
	if err != nil || done.State != models.Task_Completed || done.Result != "result" || done.FirstCompletedAt != 4 {
		t.Fatalf("complete: %+v %v", done, err)
	}
	if _, err := CancelTask(done, 5); !isType(err, models.Error_InvalidStateTransition) {
		t.Fatalf("cancel completed: %v", err)
	}
	if err := DeleteTask(done); !isType(err, models.Error_InvalidStateTransition) {
		t.Fatalf("delete completed: %v", err)
	}
	res, err := ResolvingTask(done, 6)
	if err != nil || res.State != models.Task_Resolving || DeleteTask(res) != nil {
		t.Fatalf("resolving: %+v %v", res, err)
	}
	if c, err := CancelTask(pending, 7); err != nil || !c.Failed || c.FailureReason != TaskCancelledReason {
		t.Fatalf("cancel: %+v %v", c, err)
	}
}

func TestRejectTask(t *testing.T) {
	task := NewTask("t", "d", &models.TaskDefinition{}, 1)
	task, _, _ = StartTask(task, "c1", 2)
	// max_task_retries 3: three rejections send it back to PENDING on its
	// cell, the fourth fails it
	for i := int32(1); i <= 3; i++ {
		r, failed, err := RejectTask(task, "full", 3, int64(2+i))
		if err != nil || failed != nil || r.State != models.Task_Pending || r.CellId != "c1" ||
			r.RejectionCount != i || r.RejectionReason != "full" || r.UpdatedAt != int64(2+i) {
			t.Fatalf("reject %d: %+v %+v %v", i, r, failed, err)
		}
		task = r
	}
	r4, failed, err := RejectTask(task, "still full", 3, 9)
	if err != nil || r4.State != models.Task_Pending || r4.RejectionCount != 4 || r4.RejectionReason != "still full" || r4.CellId != "c1" {
		t.Fatalf("reject 4, rejected: %+v %v", r4, err)
	}
	if failed == nil || failed.State != models.Task_Completed || !failed.Failed || failed.FailureReason != "still full" ||
		failed.RejectionCount != 4 || failed.CellId != "" || failed.FirstCompletedAt != 9 {
		t.Fatalf("reject 4, failed: %+v", failed)
	}
	if _, _, err := RejectTask(failed, "x", 3, 10); !isType(err, models.Error_InvalidStateTransition) ||
		err.(*models.Error).Message != "Cannot transition from Completed to Completed" {
		t.Fatalf("reject a completed task whose retries are used up: %v", err)
	}
	if _, _, err := RejectTask(failed, "x", 5, 10); err != models.ErrBadRequest {
		t.Fatalf("reject a completed task: %v", err)
	}
	// max_task_retries 0: the first rejection fails a PENDING task
	_, failed, err = RejectTask(NewTask("u", "d", &models.TaskDefinition{}, 1), "no", 0, 2)
	if err != nil || failed == nil || failed.FailureReason != "no" || failed.RejectionCount != 1 {
		t.Fatalf("no retries: %+v %v", failed, err)
	}
}

func TestReasonsTruncated(t *testing.T) {
	short := strings.Repeat("a", MaxReasonBytes-1)
	long := strings.Repeat("b", MaxReasonBytes)
	cut := strings.Repeat("b", MaxReasonBytes-len("(truncated)")) + "(truncated)"
	if Truncate(short, MaxReasonBytes) != short || Truncate(long, MaxReasonBytes) != cut {
		t.Fatal("truncation differs from the reference's")
	}
	task := NewTask("t", "d", &models.TaskDefinition{}, 1)
	rejected, _, _ := RejectTask(task, long+long, 3, 2)
	failed, _ := FailTask(task, long, 2)
	if rejected.RejectionReason != cut || failed.FailureReason != cut {
		t.Fatalf("reasons: %d and %d bytes", len(rejected.RejectionReason), len(failed.FailureReason))
	}
}

func isType(err error, typ models.Error_Type) bool {
	e, ok := err.(*models.Error)
	return ok && e.Type == typ
}
