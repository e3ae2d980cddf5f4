package convergence

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
	"github.com/diego-go/diego/src/internal/golden"
)

// TestScenarios runs the golden scripts in testdata (see package golden;
// go test -rewrite regenerates the expectations).
func TestScenarios(t *testing.T) {
	golden.Scripts(t, func() golden.Commands {
		r := &runner{w: newWorld()}
		return golden.Commands{
			"world":  r.world,  // the input lines (see world) replace the cluster state
			"change": r.change, // the input lines update it
			"decide": r.decide, // prints the plan for the current state
			"apply":  r.apply,  // applies the last plan as if every action committed; prints the rows
		}
	})
}

// runner holds a script's state between blocks.
type runner struct {
	w      *world
	last   *decided
	epochs int
}

func (r *runner) newEpoch() string {
	r.epochs++
	return fmt.Sprintf("n%d", r.epochs)
}

func (r *runner) world(b *golden.Block) ([]string, error) {
	r.w = newWorld()
	return r.change(b)
}

func (r *runner) change(b *golden.Block) ([]string, error) {
	for _, l := range b.Input {
		if err := r.w.exec(l); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (r *runner) decide(*golden.Block) ([]string, error) {
	d := materialise(Decide(r.w.snapshot(), DefaultConfig()), r.newEpoch)
	r.last = &d
	return r.w.renderPlan(d), nil
}

func (r *runner) apply(*golden.Block) ([]string, error) {
	if r.last == nil {
		return nil, fmt.Errorf("apply before decide")
	}
	if err := r.w.apply(*r.last); err != nil {
		return nil, err
	}
	r.last = nil
	return r.w.render(), nil
}

// decided is a plan with its LRP changes materialised.
type decided struct {
	plan    Plan
	changes [][]lifecycle.Change // per plan.LRPs entry
}

func materialise(p Plan, newEpoch func() string) decided {
	d := decided{plan: p}
	for i := range p.LRPs {
		d.changes = append(d.changes, p.LRPs[i].Changes(newEpoch))
	}
	return d
}

// group is every presence of one index, as the applier would read it.
func (w *world) group(guid string, idx int32) []*models.ActualLRP {
	var g []*models.ActualLRP
	for _, p := range []models.ActualLRP_Presence{models.ActualLRP_Ordinary, models.ActualLRP_Evacuating, models.ActualLRP_Suspect} {
		if l := w.lrps[lrpID{guid, idx, p}]; l != nil {
			g = append(g, l)
		}
	}
	return g
}

// apply commits every action of d, as the applier would; it fails if an
// action does not match the rows or a change does not fit the table.
func (w *world) apply(d decided) error {
	for i := range d.plan.LRPs {
		a := &d.plan.LRPs[i]
		if !a.Unchanged(w.group(a.Key.ProcessGuid, a.Key.Index)) {
			return fmt.Errorf("%s/%d: rows changed under the plan", a.Key.ProcessGuid, a.Key.Index)
		}
		for _, c := range d.changes[i] {
			if err := w.applyChange(c); err != nil {
				return fmt.Errorf("%s/%d %s: %w", a.Key.ProcessGuid, a.Key.Index, a.Why, err)
			}
		}
	}
	for i := range d.plan.Tasks {
		a := &d.plan.Tasks[i]
		guid := a.Task.TaskGuid
		if !a.Unchanged(w.tasks[guid]) {
			return fmt.Errorf("task %s changed under the plan", guid)
		}
		switch {
		case a.Delete:
			delete(w.tasks, guid)
		case a.After != nil:
			w.tasks[guid] = a.After
		}
	}
	return nil
}

func (w *world) applyChange(c lifecycle.Change) error {
	if c.Before != nil {
		if w.lrps[idOf(c.Before)] != c.Before {
			return fmt.Errorf("change of a row not in the table: %s", w.renderLRP(c.Before))
		}
		delete(w.lrps, idOf(c.Before))
	}
	if c.After != nil {
		if w.lrps[idOf(c.After)] != nil {
			return fmt.Errorf("insert over an existing row: %s", w.renderLRP(c.After))
		}
		w.lrps[idOf(c.After)] = c.After
	}
	return nil
}

// renderPlan prints a plan, one action per line with its details indented.
func (w *world) renderPlan(d decided) []string {
	var out []string
	p := d.plan
	for i := range p.LRPs {
		out = append(out, w.renderLRPAction(&p.LRPs[i], d.changes[i])...)
	}
	if len(p.Starts) > 0 {
		var s []string
		for _, sr := range p.Starts {
			s = append(s, fmt.Sprintf("%s%v", sr.Desired.ProcessGuid, sr.Indices))
		}
		out = append(out, "starts "+strings.Join(s, " "))
	}
	for i := range p.Tasks {
		out = append(out, renderTaskAction(&p.Tasks[i])...)
	}
	if len(p.LRPs)+len(p.Tasks) == 0 {
		out = append(out, "no actions")
	}
	if len(p.MissingCells) > 0 {
		out = append(out, "missing-cells "+strings.Join(p.MissingCells, " "))
	}
	return append(out, renderCounts(&p.Counts)...)
}

func (w *world) renderLRPAction(a *LRPAction, changes []lifecycle.Change) []string {
	out := []string{fmt.Sprintf("lrp %s/%d %s", a.Key.ProcessGuid, a.Key.Index, a.Why)}
	rows := "  rows"
	for _, l := range a.Rows {
		rows += fmt.Sprintf(" %s@%s:%d", presenceName(l.Presence), l.ModificationTag.Epoch, l.ModificationTag.Index)
	}
	if len(a.Rows) == 0 {
		rows += " none"
	}
	out = append(out, rows)
	for _, c := range changes {
		switch {
		case c.Before == nil:
			out = append(out, "  insert "+w.renderLRP(c.After))
		case c.After == nil:
			out = append(out, fmt.Sprintf("  delete %s/%d %s", c.Before.ProcessGuid, c.Before.Index, presenceName(c.Before.Presence)))
		case c.Before.Presence != c.After.Presence:
			out = append(out, "  move "+w.renderLRP(c.After))
		default:
			out = append(out, "  update "+w.renderLRP(c.After))
		}
	}
	if a.Stop != nil {
		out = append(out, fmt.Sprintf("  stop %s on %s", a.Stop.InstanceGuid, a.Stop.CellId))
	}
	if a.Auction {
		out = append(out, "  auction")
	}
	return out
}

func renderTaskAction(a *TaskAction) []string {
	out := []string{fmt.Sprintf("task %s %s", a.Task.TaskGuid, a.Kind)}
	if a.After != nil {
		out = append(out, "  update "+renderTask(a.After))
	}
	if a.Delete {
		out = append(out, "  delete")
	}
	if a.Auction {
		out = append(out, "  auction")
	}
	if a.Callback {
		out = append(out, "  callback")
	}
	return out
}

// renderCounts prints the non-zero counts.
func renderCounts(c *Counts) []string {
	named := func(prefix string, kv ...any) string {
		s := prefix
		for i := 0; i < len(kv); i += 2 {
			if n := kv[i+1].(int); n != 0 {
				s += fmt.Sprintf(" %s=%d", kv[i], n)
			}
		}
		return s
	}
	out := []string{
		named("counts", "desired", c.DesiredLRPs, "instances", c.DesiredInstances, "missing", c.Missing,
			"extra", c.Extra, "orphaned", c.Orphaned, "crashing-desired", c.CrashingDesired,
			"unclaimed", c.Unclaimed, "claimed", c.Claimed, "running", c.Running, "crashed", c.Crashed,
			"suspect", c.Suspect, "evacuating", c.Evacuating, "stops", c.Stops, "start-indices", c.StartIndices),
		named("tasks", "pending", c.TasksPending, "running", c.TasksRunning, "completed", c.TasksCompleted,
			"resolving", c.TasksResolving, "auctions", c.TaskAuctions, "callbacks", c.Callbacks),
	}
	return slices.DeleteFunc(out, func(l string) bool { return !strings.Contains(l, "=") })
}
