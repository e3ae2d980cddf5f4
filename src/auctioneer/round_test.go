package auctioneer

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/auctionapi"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestRoundPlacesOverHTTP runs a round against six cells in three zones
// over mutual TLS: every instance lands once, two per zone, each with its
// own instance guid; the task lands too.
func TestRoundPlacesOverHTTP(t *testing.T) {
	cells := startCells(t, 6, []string{"z1", "z2", "z3"}, rep.NewResources(4096, 16384, 10), true)
	bbs := newRecordingBBS()
	r := newTestRunner(t, presencesOf(cells), bbs, nil)

	r.AddLRPs([]auctionapi.LRPStartRequest{lrpStart("web", 512, 0, 1, 2), lrpStart("web", 512, 3, 4, 5, 2)}) // index 2 twice: deduplicated
	r.AddTasks([]auctionapi.TaskStartRequest{taskStart("task-1", 256)})
	rr := r.Round(context.Background())

	if rr.Err != nil || rr.LRPs != 6 || rr.Tasks != 1 || rr.LRPsPlaced != 6 || rr.TasksPlaced != 1 || rr.LRPsFailed+rr.TasksFailed != 0 {
		t.Fatalf("round = %+v", rr)
	}
	if rr.CellsFetched != 6 || rr.CellsUnreachable != 0 || rr.Total <= 0 || rr.FetchStates <= 0 {
		t.Errorf("round cells/durations = %+v", rr)
	}
	perZone := map[string]int{}
	guids := map[string]bool{}
	indices := map[int32]int{}
	tasks := 0
	for _, c := range cells {
		for _, l := range c.LRPs() {
			perZone[c.Zone()]++
			indices[l.Index]++
			if !uuidRE.MatchString(l.InstanceGUID) || guids[l.InstanceGUID] {
				t.Errorf("instance guid %q is not a fresh UUID", l.InstanceGUID)
			}
			guids[l.InstanceGUID] = true
			if l.ProcessGuid != "web" || l.Domain != "cf-apps" || l.MemoryMB != 512 || l.RootFs == "" {
				t.Errorf("cell %s got %+v", c.ID(), l)
			}
		}
		tasks += len(c.Tasks())
	}
	for z, n := range perZone {
		if n != 2 {
			t.Errorf("zone %s has %d instances, want 2 (%v)", z, n, perZone)
		}
	}
	for i := int32(0); i < 6; i++ {
		if indices[i] != 1 {
			t.Errorf("index %d placed %d times", i, indices[i])
		}
	}
	if tasks != 1 {
		t.Errorf("%d tasks placed, want 1", tasks)
	}
	if lrps, tks := bbs.snapshot(); len(lrps)+len(tks) != 0 {
		t.Errorf("failures reported: %v %v", lrps, tks)
	}
	if l, tk := r.Queued(); l+tk != 0 {
		t.Errorf("queue not empty after the round: %d %d", l, tk)
	}
}

// TestRoundReportsFailures: what fits nowhere is reported with the
// placement error; what a cell rejects is reported as rejected; an
// unreachable or evacuating cell gets nothing.
func TestRoundReportsFailures(t *testing.T) {
	cells := startCells(t, 4, []string{"z1", "z2"}, rep.NewResources(2048, 16384, 10), true)
	cells[1].SetRejectWork(true)
	cells[2].SetFailState(true)
	cells[3].SetEvacuating(true)
	bbs := newRecordingBBS()
	r := newTestRunner(t, presencesOf(cells), bbs, nil)

	r.AddLRPs([]auctionapi.LRPStartRequest{lrpStart("huge", 8192, 0), lrpStart("small", 256, 0)})
	r.AddTasks([]auctionapi.TaskStartRequest{taskStart("huge-task", 8192)})
	rr := r.Round(context.Background())

	if rr.CellsUnreachable != 1 || rr.CellsEvacuating != 1 || rr.CellsFetched != 3 {
		t.Errorf("cells: %+v", rr)
	}
	lrps, tasks := bbs.snapshot()
	if reason := lrps["huge/0"]; !strings.Contains(reason, "insufficient resources") {
		t.Errorf("huge/0 reported with %q, want insufficient resources (all: %v)", reason, lrps)
	}
	if reason := tasks["huge-task"]; !strings.Contains(reason, "insufficient resources") {
		t.Errorf("huge-task rejected with %q (all: %v)", reason, tasks)
	}
	// "small" went to cell 0 or the rejecting cell 1 (both in play, cell 1 emptier or equal).
	switch {
	case len(cells[0].LRPs()) == 1:
		if rr.LRPsPlaced != 1 || rr.LRPsFailed != 1 {
			t.Errorf("round = %+v", rr)
		}
	default:
		if reason := lrps["small/0"]; !strings.Contains(reason, "rejected") || rr.LRPsRejected != 1 || rr.LRPsFailed != 2 {
			t.Errorf("small/0 reported with %q; round %+v", reason, rr)
		}
	}
	for _, c := range cells[1:] {
		if n := len(c.LRPs()) + len(c.Tasks()); n != 0 {
			t.Errorf("cell %s took %d containers", c.ID(), n)
		}
	}
}

// TestRoundRejectedWorkIsReported forces every placement onto a cell that
// rejects all work.
func TestRoundRejectedWorkIsReported(t *testing.T) {
	cells := startCells(t, 1, []string{"z1"}, rep.NewResources(8192, 16384, 10), true)
	cells[0].SetRejectWork(true)
	bbs := newRecordingBBS()
	r := newTestRunner(t, presencesOf(cells), bbs, nil)
	r.AddLRPs([]auctionapi.LRPStartRequest{lrpStart("web", 256, 0, 1)})
	r.AddTasks([]auctionapi.TaskStartRequest{taskStart("t1", 256)})
	rr := r.Round(context.Background())
	if rr.LRPsRejected != 2 || rr.TasksRejected != 1 || rr.LRPsPlaced+rr.TasksPlaced != 0 {
		t.Fatalf("round = %+v", rr)
	}
	lrps, tasks := bbs.snapshot()
	want := fmt.Sprintf("cell %s rejected the work", cells[0].ID())
	if lrps["web/0"] != want || lrps["web/1"] != want || tasks["t1"] != want {
		t.Errorf("reported %v %v; want %q", lrps, tasks, want)
	}
}

// TestRoundKeepsBatchWhenCellsCannotBeListed: nothing is lost or reported.
func TestRoundKeepsBatchWhenCellsCannotBeListed(t *testing.T) {
	cells := startCells(t, 1, []string{"z1"}, rep.NewResources(8192, 16384, 10), true)
	lister := presencesOf(cells)
	lister.setErr(errors.New("locket down"))
	bbs := newRecordingBBS()
	r := newTestRunner(t, lister, bbs, nil)
	r.AddLRPs([]auctionapi.LRPStartRequest{lrpStart("web", 256, 0, 1)})
	if rr := r.Round(context.Background()); rr.Err == nil {
		t.Fatalf("round = %+v; want an error", rr)
	}
	if l, _ := r.Queued(); l != 2 {
		t.Fatalf("queued %d, want the 2 instances kept", l)
	}
	lister.setErr(nil)
	if rr := r.Round(context.Background()); rr.LRPsPlaced != 2 {
		t.Fatalf("retry round = %+v", rr)
	}
}

// TestRoundDefersOverTheStartingLimit re-queues what the limit holds back.
func TestRoundDefersOverTheStartingLimit(t *testing.T) {
	cells := startCells(t, 2, []string{"z1"}, rep.NewResources(8192, 16384, 10), true)
	bbs := newRecordingBBS()
	r := newTestRunner(t, presencesOf(cells), bbs, func(c *RunnerConfig) { c.Auction.StartingContainerCountMaximum = 2 })
	r.AddLRPs([]auctionapi.LRPStartRequest{lrpStart("web", 256, 0, 1, 2, 3, 4)})
	rr := r.Round(context.Background())
	if rr.LRPsPlaced != 2 || rr.LRPsDeferred != 3 {
		t.Fatalf("round = %+v", rr)
	}
	if l, _ := r.Queued(); l != 3 {
		t.Fatalf("queued %d after the round, want 3 deferred", l)
	}
}

// TestWarmOpensConnections: warming fetches every state once, places
// nothing, and reports itself as a warm-up.
func TestWarmOpensConnections(t *testing.T) {
	cells := startCells(t, 3, []string{"z1"}, rep.NewResources(8192, 16384, 10), true)
	cells[2].SetFailState(true)
	var got []RoundReport
	r := newTestRunner(t, presencesOf(cells), newRecordingBBS(), func(c *RunnerConfig) { c.OnRound = func(rr RoundReport) { got = append(got, rr) } })
	rr := r.Warm(context.Background())
	if !rr.Warmup || rr.Cells != 3 || rr.CellsFetched != 2 || rr.CellsUnreachable != 1 || len(got) != 1 || !got[0].Warmup {
		t.Fatalf("warm-up = %+v, reported %d", rr, len(got))
	}
	for _, c := range cells {
		if states, works, conns := c.Requests(); states != 1 || works != 0 || conns != 1 {
			t.Errorf("cell %s: %d state and %d work requests over %d connections; want 1, 0, 1", c.ID(), states, works, conns)
		}
	}
	r.AddLRPs([]auctionapi.LRPStartRequest{lrpStart("web", 256, 0, 1)})
	if rr := r.Round(context.Background()); rr.LRPsPlaced != 2 {
		t.Fatalf("round = %+v", rr)
	}
	for _, c := range cells[:2] {
		if _, _, conns := c.Requests(); conns != 1 {
			t.Errorf("cell %s: %d connections after a round; want the warm one reused", c.ID(), conns)
		}
	}
}
