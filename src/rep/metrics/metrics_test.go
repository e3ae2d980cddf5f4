package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/cell"
)

// TestMetrics scrapes the handler over a real ledger: capacity, work by
// kind and phase (every series present, zeros included) and evacuation.
func TestMetrics(t *testing.T) {
	l := cell.New(cell.Identity{CellID: "cell-1", Zone: "z1"}, rep.NewResources(1024, 2048, 10))
	lrp := func(guid string) rep.LRP {
		return rep.NewLRP(guid, models.NewActualLRPKey("pg-"+guid, 0, "d"), rep.NewResource(256, 100, 10),
			rep.NewPlacementConstraint("preloaded:cflinuxfs4", nil, nil))
	}
	now := time.Now()
	_, rejected := l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("a"), lrp("b")},
		Tasks: []rep.Task{rep.NewTask("t", "d", rep.NewResource(128, 50, 10), rep.NewPlacementConstraint("preloaded:cflinuxfs4", nil, nil))}}, now)
	if len(rejected.LRPs)+len(rejected.Tasks) > 0 {
		t.Fatalf("rejected %+v", rejected)
	}
	if err := l.Transition(cell.KindLRP, "a", cell.Initializing); err != nil {
		t.Fatal(err)
	}
	if err := l.Transition(cell.KindLRP, "a", cell.Created); err != nil {
		t.Fatal(err)
	}
	if err := l.Transition(cell.KindLRP, "a", cell.Running); err != nil {
		t.Fatal(err)
	}
	l.SetEvacuating(true)

	rec := httptest.NewRecorder()
	Handler(l, "cell-1", "z1", fakeLogs{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`diego_rep_memory_mb{cell_id="cell-1",kind="total",zone="z1"} 1024`,
		`diego_rep_memory_mb{cell_id="cell-1",kind="available",zone="z1"} 384`,
		`diego_rep_disk_mb{cell_id="cell-1",kind="available",zone="z1"} 1798`,
		`diego_rep_containers{cell_id="cell-1",kind="total",zone="z1"} 10`,
		`diego_rep_containers{cell_id="cell-1",kind="available",zone="z1"} 7`,
		`diego_rep_evacuating{cell_id="cell-1",zone="z1"} 1`,
		`diego_rep_work{cell_id="cell-1",kind="lrp",phase="running",zone="z1"} 1`,
		`diego_rep_work{cell_id="cell-1",kind="lrp",phase="reserved",zone="z1"} 1`,
		`diego_rep_work{cell_id="cell-1",kind="task",phase="reserved",zone="z1"} 1`,
		`diego_rep_work{cell_id="cell-1",kind="task",phase="completed",zone="z1"} 0`,
		`diego_rep_loggregator_dropped_envelopes_total{cell_id="cell-1",zone="z1"} 7`,
		`diego_rep_loggregator_sent_envelopes_total{cell_id="cell-1",zone="z1"} 12`,
	} {
		if !strings.Contains("\n"+body, "\n"+want+"\n") {
			t.Errorf("no line %s in\n%s", want, body)
		}
	}
	if !strings.Contains(body, "\ngo_goroutines ") {
		t.Errorf("no Go runtime metrics")
	}
}

type fakeLogs struct{}

func (fakeLogs) LoggregatorDropped() uint64 { return 7 }
func (fakeLogs) LoggregatorSent() uint64    { return 12 }
