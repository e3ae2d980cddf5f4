package lifecycle

import (
	"testing"

	"code.cloudfoundry.org/bbs/models"
)

func TestMarkSuspect(t *testing.T) {
	run := ord("RUNNING", ikA)
	p := MarkSuspect(Group{run}, ikA, "new", 9)
	if len(p.Changes) != 3 || !p.Auction {
		t.Fatalf("plan = %+v", p)
	}
	if p.Changes[0].Before != run || p.Changes[0].After != nil {
		t.Fatal("ordinary row not removed")
	}
	if s := p.Changes[1].After; s.Presence != models.ActualLRP_Suspect || s.ActualLRPInstanceKey != ikA || s.State != "RUNNING" {
		t.Fatalf("suspect = %+v", s)
	}
	if u := p.Changes[2].After; u.Presence != models.ActualLRP_Ordinary || u.State != "UNCLAIMED" || u.ModificationTag.Epoch != "new" {
		t.Fatalf("replacement = %+v", u)
	}
	// moved on since the snapshot: nothing happens
	for name, g := range map[string]Group{
		"other instance":  {ord("RUNNING", ikB)},
		"now claimed":     {ord("CLAIMED", ikA)},
		"already suspect": {run, lrp("RUNNING", ikB, models.ActualLRP_Suspect)},
		"gone":            {},
	} {
		if p := MarkSuspect(g, ikA, "e", 1); len(p.Changes) != 0 {
			t.Errorf("%s: plan = %+v", name, p)
		}
	}
}

func TestResolveSuspect(t *testing.T) {
	s := lrp("RUNNING", ikA, models.ActualLRP_Suspect)
	t.Run("replacement running removes suspect", func(t *testing.T) {
		p := ResolveSuspect(Group{s, ord("RUNNING", ikB)}, true, "e", 1)
		if len(p.Changes) != 1 || p.Changes[0].Before != s || p.Changes[0].After != nil {
			t.Fatalf("plan = %+v", p)
		}
	})
	t.Run("cell back, replacement claimed: replacement dropped, suspect ordinary again", func(t *testing.T) {
		repl := ord("CLAIMED", ikB)
		p := ResolveSuspect(Group{s, repl}, true, "e", 1)
		if len(p.Changes) != 3 || p.Changes[0].Before != repl || p.Changes[2].After.Presence != models.ActualLRP_Ordinary ||
			p.Changes[2].After.ActualLRPInstanceKey != ikA {
			t.Fatalf("plan = %+v", p)
		}
	})
	t.Run("cell still gone, no replacement: create one", func(t *testing.T) {
		p := ResolveSuspect(Group{s}, false, "e", 1)
		if len(p.Changes) != 1 || p.Changes[0].After.State != "UNCLAIMED" || !p.Auction {
			t.Fatalf("plan = %+v", p)
		}
	})
	t.Run("cell still gone, replacement unclaimed: wait", func(t *testing.T) {
		if p := ResolveSuspect(Group{s, ord("UNCLAIMED", none)}, false, "e", 1); len(p.Changes) != 0 {
			t.Fatalf("plan = %+v", p)
		}
	})
}

func TestConvergenceRowRules(t *testing.T) {
	crashed := ord("CRASHED", none)
	crashed.CrashCount = 4
	p := RestartCrashed(Group{crashed}, 7)
	if a := p.Changes[0].After; a.State != "UNCLAIMED" || a.CrashCount != 4 || !p.Auction {
		t.Fatalf("restart = %+v", p)
	}
	if p := RestartCrashed(Group{ord("RUNNING", ikA)}, 7); len(p.Changes) != 0 {
		t.Fatal("restarted a running instance")
	}
	if p := UnclaimLost(Group{ord("CLAIMED", ikA)}, ikA, 3); !p.Auction || p.Changes[0].After.State != "UNCLAIMED" {
		t.Fatalf("unclaim lost = %+v", p)
	}
	if p := UnclaimLost(Group{ord("CLAIMED", ikB)}, ikA, 3); len(p.Changes) != 0 {
		t.Fatal("unclaimed another cell's claim")
	}
	ev := lrp("RUNNING", ikA, models.ActualLRP_Evacuating)
	if p := RemoveLostEvacuating(Group{ord("UNCLAIMED", none), ev}, ikA); len(p.Changes) != 1 || p.Changes[0].Before != ev {
		t.Fatalf("remove evacuating = %+v", p)
	}
	if !StillUnclaimed(Group{ord("UNCLAIMED", none)}) || StillUnclaimed(Group{ord("CLAIMED", ikA)}) {
		t.Fatal("StillUnclaimed")
	}
	res := NewTask("t", "d", &models.TaskDefinition{}, 1)
	res.State = models.Task_Resolving
	if d, err := DemoteResolving(res, 5); err != nil || d.State != models.Task_Completed {
		t.Fatalf("demote: %+v %v", d, err)
	}
	if err := ExpireTask(NewTask("t", "d", nil, 1)); err == nil {
		t.Fatal("expired a pending task")
	}
}
