package reconcile

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/golden"
)

// TestScenarios runs the golden scripts in testdata (see package golden;
// go test -rewrite regenerates the expectations).
func TestScenarios(t *testing.T) {
	golden.Scripts(t, func() golden.Commands {
		r := &runner{}
		return golden.Commands{
			// the input lines (see runner.exec) replace the cell's state
			"cell": r.cell,
			// prints the bulk sync's operations for the state
			"sync": r.ops(func(c Cell) []Op { return Sync(c) }),
			// prints the restart recovery's operations for its containers
			"recover": r.ops(func(c Cell) []Op { return Recover(c.Containers) }),
			// "claimed running": the evacuation step
			"evacuate": golden.EachLine(evacuate),
			// "END [evacuating]": the report
			"ended": golden.EachLine(ended),
			// "[evacuating]": the report
			"running": golden.EachLine(running),
			// flags cancelled, stopped, failed and reason=R
			"task-ended": golden.EachLine(taskEnded),
			// "SYNC POLLING [evacuating]": the wait
			"interval": golden.EachLine(interval),
		}
	})
}

type runner struct{ c Cell }

func (r *runner) cell(b *golden.Block) ([]string, error) {
	r.c = Cell{OwnedLRPs: map[string]bool{}, OwnedTasks: map[string]bool{}}
	for _, l := range b.Input {
		if err := r.exec(strings.Fields(l)); err != nil {
			return nil, fmt.Errorf("%q: %w", l, err)
		}
	}
	return nil, nil
}

func (r *runner) ops(decide func(Cell) []Op) func(*golden.Block) ([]string, error) {
	return func(*golden.Block) ([]string, error) {
		out := []string{}
		for _, o := range decide(r.c) {
			out = append(out, o.String())
		}
		return out, nil
	}
}

// words splits a one-line case into its flag words and its reason=R.
func words(l string) (flags map[string]bool, args []string, reason string) {
	flags = map[string]bool{}
	for _, w := range strings.Fields(l) {
		if v, ok := strings.CutPrefix(w, "reason="); ok {
			reason = v
			continue
		}
		flags[w] = true
		args = append(args, w)
	}
	return flags, args, reason
}

func evacuate(l string) (string, error) {
	f, _, _ := words(l)
	return Evacuate(f["claimed"], f["running"]).String(), nil
}

func running(l string) (string, error) {
	f, _, _ := words(l)
	return Running(f["evacuating"]).String(), nil
}

func ended(l string) (string, error) {
	f, _, _ := words(l)
	e := EndCrash
	switch {
	case f["stop"]:
		e = EndStop
	case f["abandon"]:
		e = EndAbandon
	}
	return Ended(e, f["evacuating"]).String(), nil
}

func taskEnded(l string) (string, error) {
	f, _, reason := words(l)
	report, fail, why := TaskEnded(f["cancelled"], f["stopped"], f["failed"], reason)
	return fmt.Sprintf("report=%t failed=%t reason=%q", report, fail, why), nil
}

func interval(l string) (string, error) {
	f, args, _ := words(l)
	if len(args) < 2 {
		return "", fmt.Errorf("interval: want SYNC POLLING [evacuating]")
	}
	s, err1 := time.ParseDuration(args[0])
	p, err2 := time.ParseDuration(args[1])
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("interval %q: bad durations", l)
	}
	return SyncInterval(s, p, f["evacuating"]).String(), nil
}

// exec applies one state line:
//
//	id CELL                              this cell's id
//	lrp PG/INDEX GUID cell=C [evacuating] [state=S] an actual LRP the BBS holds for the cell
//	task GUID STATE cell=C                a task the BBS holds for the cell
//	containers H...                      the backend's containers
//	owns lrp|task GUID...                what the cell runs or has reserved
//	claimed GUID PG/INDEX [ending] [healthy] an instance claimed before the BBS was read
//	started GUID [ending]                 a task started before the BBS was read
func (r *runner) exec(w []string) error {
	if len(w) < 2 {
		return fmt.Errorf("too short")
	}
	flag := func(name string) bool {
		for _, x := range w[2:] {
			if x == name {
				return true
			}
		}
		return false
	}
	value := func(key string) string {
		for _, x := range w[2:] {
			if v, ok := strings.CutPrefix(x, key+"="); ok {
				return v
			}
		}
		return ""
	}
	cellOf := func() string { return value("cell") }
	switch w[0] {
	case "id":
		r.c.CellID = w[1]
	case "lrp":
		pg, idx, err := golden.Instance(w[1])
		if err != nil || len(w) < 3 {
			return fmt.Errorf("lrp PG/INDEX GUID ...")
		}
		a := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey(pg, idx, "d"),
			ActualLRPInstanceKey: models.NewActualLRPInstanceKey(w[2], cellOf())}
		if flag("evacuating") {
			a.Presence = models.ActualLRP_Evacuating
		}
		a.State = value("state")
		r.c.ActualLRPs = append(r.c.ActualLRPs, a)
	case "task":
		if len(w) < 3 {
			return fmt.Errorf("task GUID STATE ...")
		}
		st, ok := models.Task_State_value[w[2][:1]+strings.ToLower(w[2][1:])]
		if !ok {
			return fmt.Errorf("unknown task state %q", w[2])
		}
		r.c.Tasks = append(r.c.Tasks, &models.Task{TaskGuid: w[1], State: models.Task_State(st), CellId: cellOf()})
	case "containers":
		r.c.Containers = append(r.c.Containers, w[1:]...)
	case "owns":
		set := r.c.OwnedLRPs
		if w[1] == "task" {
			set = r.c.OwnedTasks
		}
		for _, g := range w[2:] {
			set[g] = true
		}
	case "claimed":
		if len(w) < 3 {
			return fmt.Errorf("claimed GUID PG/INDEX")
		}
		pg, idx, err := golden.Instance(w[2])
		if err != nil {
			return err
		}
		r.c.Claimed = append(r.c.Claimed, Instance{Guid: w[1], ProcessGuid: pg, Index: idx, Ending: flag("ending"),
			Healthy: flag("healthy")})
	case "started":
		r.c.Started = append(r.c.Started, TaskRun{Guid: w[1], Ending: flag("ending")})
	default:
		return fmt.Errorf("unknown line")
	}
	return nil
}
