package convergence

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// worldOf builds a world from lines in the scenario format.
func worldOf(t *testing.T, lines ...string) *world {
	t.Helper()
	w := newWorld()
	for _, l := range lines {
		if err := w.exec(l); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
	}
	return w
}

// planText renders Decide's plan for w with cfg.
func planText(w *world, cfg Config) string {
	var n int
	d := materialise(Decide(w.snapshot(), cfg), func() string { n++; return "n" + strconv.Itoa(n) })
	return strings.Join(w.renderPlan(d), "\n")
}

func TestConfig(t *testing.T) {
	c := Config{KickTaskAfter: time.Minute}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if c.KickTaskAfter != time.Minute || c.StaleUnclaimedAfter != d.StaleUnclaimedAfter ||
		c.ExpirePendingTaskAfter != d.ExpirePendingTaskAfter || c.ExpireCompletedTaskAfter != d.ExpireCompletedTaskAfter || c.Restart == nil {
		t.Fatalf("defaults not filled: %+v", c)
	}
	bad := Config{StaleUnclaimedAfter: -time.Second}
	if bad.Validate() == nil {
		t.Fatal("negative duration accepted")
	}
	w := worldOf(t, "now 10m", "desired web instances=2", "lrp web/0 UNCLAIMED since=1m",
		"task t PENDING created=1m", "task c COMPLETED created=1m first=9m")
	if got, want := planText(w, Config{}), planText(w, DefaultConfig()); got != want {
		t.Fatalf("zero Config differs from DefaultConfig:\n%s\n---\n%s", got, want)
	}
	if got := planText(w, Config{KickTaskAfter: 10 * time.Minute}); strings.Contains(got, "task t kick") {
		t.Fatalf("KickTaskAfter ignored:\n%s", got)
	}
}

func TestEdgeCases(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  []string // lines the plan must contain
		not   []string // lines it must not
	}{
		{"negative instances are none", []string{"desired web instances=-2", "domains cf-apps", "lrp web/0 UNCLAIMED"},
			[]string{"lrp web/0 retire-extra"}, []string{"create-missing"}},
		{"an evacuating copy alone does not hold the index", []string{"cells c", "desired web instances=1", "lrp web/0 evacuating RUNNING cell=c"},
			[]string{"lrp web/0 create-missing", "  rows evacuating@e:1"}, nil},
		{"running with no cell id counts as on a lost cell", []string{"cells c", "desired web instances=1", "lrp web/0 RUNNING"},
			[]string{"lrp web/0 mark-suspect"}, nil},
		{"stale unclaimed and a gone evacuating copy in one action", []string{"now 1m", "cells c",
			"desired web instances=1", "lrp web/0 UNCLAIMED since=0s", "lrp web/0 evacuating RUNNING cell=z"},
			[]string{"lrp web/0 remove-evacuating+reauction", "  delete web/0 evacuating", "  auction"}, nil},
		{"a crashed instance in a stale domain still restarts", []string{"desired web instances=1 domain=old", "lrp web/0 CRASHED"},
			[]string{"lrp web/0 restart-crashed"}, nil},
		{"a task with no definition has no callback", []string{"now 1h", "task t RUNNING cell=z"},
			[]string{"task t fail-cell-gone"}, []string{"  callback"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := worldOf(t, c.lines...)
			for _, tk := range w.tasks {
				tk.TaskDefinition = nil
			}
			got := planText(w, DefaultConfig())
			lines := strings.Split(got, "\n")
			for _, l := range c.want {
				if !slices.Contains(lines, l) {
					t.Errorf("missing %q in\n%s", l, got)
				}
			}
			for _, l := range c.not {
				if strings.Contains(got, l) {
					t.Errorf("unexpected %q in\n%s", l, got)
				}
			}
		})
	}
}

func TestDuplicateAndNilInputs(t *testing.T) {
	w := worldOf(t, "cells c", "desired web instances=1", "lrp web/0 RUNNING cell=c")
	s := w.snapshot()
	dup := *s.Desired[0]
	dup.Instances = 5
	s.Desired = append([]*models.DesiredLRPSchedulingInfo{nil}, s.Desired[0], &dup, nil)
	s.Actual = append(s.Actual, nil)
	s.Tasks = append(s.Tasks, nil)
	p := Decide(s, DefaultConfig())
	if len(p.LRPs) != 0 || p.Counts.DesiredLRPs != 1 || p.Counts.DesiredInstances != 1 {
		t.Fatalf("the repeated guid was decided on: %+v", p)
	}
}

func TestDecideLeavesSnapshotAlone(t *testing.T) {
	w := worldOf(t, "now 1h", "cells c", "domains cf-apps", "desired web instances=2",
		"lrp web/1 RUNNING cell=z", "lrp web/0 CRASHED", "lrp web/0 suspect RUNNING cell=c", "lrp web/5 RUNNING cell=c",
		"lrp gone/0 UNCLAIMED", "task t RESOLVING created=1m", "task p PENDING created=1m")
	s := w.snapshot()
	slices.Reverse(s.Actual)
	order := slices.Clone(s.Actual)
	before := make([]models.ActualLRP, len(s.Actual))
	for i, l := range s.Actual {
		before[i] = *l
	}
	p := Decide(s, DefaultConfig())
	for i := range p.LRPs {
		p.LRPs[i].Changes(func() string { return "x" })
	}
	if !slices.Equal(order, s.Actual) {
		t.Fatal("Decide reordered Snapshot.Actual")
	}
	for i, l := range s.Actual {
		if !l.Equal(&before[i]) {
			t.Fatalf("row %d modified: %+v", i, l)
		}
	}
	if w.tasks["t"].State != models.Task_Resolving {
		t.Fatal("task modified")
	}
}

func TestLargeBucketOutOfOrder(t *testing.T) {
	lines := []string{"cells c", "desired web instances=40"}
	for i := 39; i >= 0; i-- {
		if i != 17 {
			lines = append(lines, "lrp web/"+strconv.Itoa(i)+" RUNNING cell=c")
		}
	}
	w := worldOf(t, lines...)
	s := w.snapshot()
	slices.Reverse(s.Actual)
	p := Decide(s, DefaultConfig())
	if len(p.LRPs) != 1 || p.LRPs[0].Key.Index != 17 || p.LRPs[0].Why != CreateMissing {
		t.Fatalf("want only web/17 created, got %+v", p.LRPs)
	}
}

type recordingPolicy struct{ calls []int32 }

func (r *recordingPolicy) ShouldRestart(now, since int64, count int32) bool {
	r.calls = append(r.calls, count)
	return count == 7
}

func TestRestartPolicyIsConsulted(t *testing.T) {
	w := worldOf(t, "desired web instances=2", "lrp web/0 CRASHED crashes=7", "lrp web/1 CRASHED crashes=1")
	pol := &recordingPolicy{}
	p := Decide(w.snapshot(), Config{Restart: pol})
	if len(pol.calls) != 2 || len(p.LRPs) != 1 || p.LRPs[0].Key.Index != 0 {
		t.Fatalf("calls %v, actions %+v", pol.calls, p.LRPs)
	}
}

func TestUnchanged(t *testing.T) {
	w := worldOf(t, "cells c", "desired web instances=1", "lrp web/0 RUNNING cell=z", "lrp web/0 evacuating RUNNING cell=c")
	p := Decide(w.snapshot(), DefaultConfig())
	a := p.LRPs[0]
	g := w.group("web", 0)
	bumped := *g[0]
	bumped.ModificationTag.Increment()
	restated := *g[0]
	restated.State = models.ActualLRPStateClaimed
	extra := &models.ActualLRP{ActualLRPKey: g[0].ActualLRPKey, Presence: models.ActualLRP_Suspect}
	cases := []struct {
		name string
		rows []*models.ActualLRP
		want bool
	}{
		{"same rows", g, true},
		{"same rows reordered", []*models.ActualLRP{g[1], g[0]}, true},
		{"tag bumped", []*models.ActualLRP{&bumped, g[1]}, false},
		{"state changed", []*models.ActualLRP{&restated, g[1]}, false},
		{"row gone", g[1:], false},
		{"row added", append(slices.Clone(g), extra), false},
	}
	for _, c := range cases {
		if got := a.Unchanged(c.rows); got != c.want {
			t.Errorf("%s: Unchanged = %v, want %v", c.name, got, c.want)
		}
	}
	missing := LRPAction{}
	if !missing.Unchanged(nil) || missing.Unchanged(g) {
		t.Error("an action on a missing index must need the index still empty")
	}
}

func TestStartsOfCommittedSubset(t *testing.T) {
	w := worldOf(t, "desired a instances=3", "desired b instances=2", "lrp a/1 CRASHED")
	p := Decide(w.snapshot(), DefaultConfig())
	if len(p.Starts) != 2 || !slices.Equal(p.Starts[0].Indices, []int32{0, 1, 2}) || !slices.Equal(p.Starts[1].Indices, []int32{0, 1}) {
		t.Fatalf("starts %+v", p.Starts)
	}
	_ = append(p.Starts[0].Indices, 99) // must not write into b's indices
	if !slices.Equal(p.Starts[1].Indices, []int32{0, 1}) {
		t.Fatalf("requests share writable indices: %+v", p.Starts)
	}
	var committed []LRPAction
	for _, a := range p.LRPs {
		if a.Key.Index != 1 {
			committed = append(committed, a)
		}
	}
	got := Starts(committed)
	if len(got) != 2 || !slices.Equal(got[0].Indices, []int32{0, 2}) || !slices.Equal(got[1].Indices, []int32{0}) {
		t.Fatalf("starts of committed %+v", got)
	}
}

func TestReasonAndCounts(t *testing.T) {
	r := RemoveEvacuating | MarkSuspect
	if !r.Has(MarkSuspect) || r.Has(MarkSuspect|Unclaim) || r.String() != "remove-evacuating+mark-suspect" {
		t.Fatalf("reason %v", r)
	}
	w := worldOf(t, "now 1h", "desired web instances=3", "lrp web/0 CRASHED", "task p PENDING created=59m", "task q PENDING created=59m")
	p := Decide(w.snapshot(), DefaultConfig())
	c := &p.Counts
	if c.Decisions(CreateMissing) != 2 || c.Decisions(RestartCrashed) != 1 || c.Decisions(r) != 0 ||
		c.TaskDecisions(TaskKick) != 2 || c.TaskDecisions(TaskKind(99)) != 0 || TaskKind(99).String() != "unknown" {
		t.Fatalf("counts %+v", c)
	}
}
