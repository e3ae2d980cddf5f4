package reconcile

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/golden"
)

// TestScenarios runs every testdata/*.txt script (see package golden for the
// format; go test -rewrite regenerates the expectations). Commands:
//
//	cell       the input lines (see cellState.exec) replace the cell's state
//	sync       prints the bulk sync's operations for the state
//	recover    prints the restart recovery's operations for its containers
//	evacuate   one line per input line "claimed running": the evacuation step
//	ended      one line per input line "END [evacuating]": the report
//	running    one line per input line "[evacuating]": the report
//	task-ended one line per input line of flags cancelled, stopped, failed and reason=R
//	interval   one line per input line "SYNC POLLING [evacuating]": the wait
func TestScenarios(t *testing.T) {
	golden.Run(t, "testdata/*.txt", func() func(*golden.Block) ([]string, error) {
		r := &runner{}
		return r.run
	})
}

type runner struct{ c Cell }

func (r *runner) run(b *golden.Block) ([]string, error) {
	switch b.Cmd {
	case "cell":
		r.c = Cell{OwnedLRPs: map[string]bool{}, OwnedTasks: map[string]bool{}}
		for _, l := range b.Input {
			if err := r.exec(strings.Fields(l)); err != nil {
				return nil, fmt.Errorf("%q: %w", l, err)
			}
		}
		return nil, nil
	case "sync", "recover":
		ops := Sync(r.c)
		if b.Cmd == "recover" {
			ops = Recover(r.c.Containers)
		}
		out := []string{}
		for _, o := range ops {
			out = append(out, o.String())
		}
		return out, nil
	}
	var out []string
	for _, l := range b.Input {
		f := map[string]bool{}
		var args []string
		reason := ""
		for _, w := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(w, "reason="); ok {
				reason = v
				continue
			}
			f[w] = true
			args = append(args, w)
		}
		var got string
		switch b.Cmd {
		case "evacuate":
			got = Evacuate(f["claimed"], f["running"]).String()
		case "running":
			got = Running(f["evacuating"]).String()
		case "ended":
			e := EndCrash
			switch {
			case f["stop"]:
				e = EndStop
			case f["abandon"]:
				e = EndAbandon
			}
			got = Ended(e, f["evacuating"]).String()
		case "task-ended":
			report, fail, why := TaskEnded(f["cancelled"], f["stopped"], f["failed"], reason)
			got = fmt.Sprintf("report=%t failed=%t reason=%q", report, fail, why)
		case "interval":
			if len(args) < 2 {
				return nil, fmt.Errorf("interval: want SYNC POLLING [evacuating]")
			}
			s, err1 := time.ParseDuration(args[0])
			p, err2 := time.ParseDuration(args[1])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("interval %q: bad durations", l)
			}
			got = SyncInterval(s, p, f["evacuating"]).String()
		default:
			return nil, fmt.Errorf("unknown command %q", b.Cmd)
		}
		out = append(out, l+" -> "+got)
	}
	return out, nil
}

// exec applies one state line:
//
//	id CELL                              this cell's id
//	lrp PG/INDEX GUID cell=C [evacuating] an actual LRP the BBS holds for the cell
//	task GUID STATE cell=C                a task the BBS holds for the cell
//	containers H...                      the backend's containers
//	owns lrp|task GUID...                what the cell runs or has reserved
//	claimed GUID PG/INDEX [ending]        an instance claimed before the BBS was read
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
	cellOf := func() string {
		for _, x := range w[2:] {
			if v, ok := strings.CutPrefix(x, "cell="); ok {
				return v
			}
		}
		return ""
	}
	switch w[0] {
	case "id":
		r.c.CellID = w[1]
	case "lrp":
		pg, idx, err := pgIndex(w[1])
		if err != nil || len(w) < 3 {
			return fmt.Errorf("lrp PG/INDEX GUID ...")
		}
		a := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey(pg, idx, "d"),
			ActualLRPInstanceKey: models.NewActualLRPInstanceKey(w[2], cellOf())}
		if flag("evacuating") {
			a.Presence = models.ActualLRP_Evacuating
		}
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
		pg, idx, err := pgIndex(w[2])
		if err != nil {
			return err
		}
		r.c.Claimed = append(r.c.Claimed, Instance{Guid: w[1], ProcessGuid: pg, Index: idx, Ending: flag("ending")})
	case "started":
		r.c.Started = append(r.c.Started, TaskRun{Guid: w[1], Ending: flag("ending")})
	default:
		return fmt.Errorf("unknown line")
	}
	return nil
}

func pgIndex(s string) (string, int32, error) {
	pg, idx, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(idx)
	if !ok || err != nil {
		return "", 0, fmt.Errorf("%q is not PG/INDEX", s)
	}
	return pg, int32(n), nil
}
