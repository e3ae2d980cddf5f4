package daemon

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

func evacuateFast(c *Settings, _ *Options) {
	c.EvacuationPollingInterval = Duration(200 * time.Millisecond)
	c.EvacuationTimeout = Duration(20 * time.Second)
}

func postEvacuate(t *testing.T, f *cellFixture) {
	t.Helper()
	resp, err := http.Post("http://"+f.d.LocalAddr()+"/evacuate", "application/json", nil)
	if err != nil {
		t.Fatalf("evacuate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("evacuate: %d", resp.StatusCode)
	}
}

// runningCount counts RUNNING copies (ordinary or evacuating) of pg.
func (f *cellFixture) runningCount(t *testing.T, pg string) (int, string) {
	lrps, err := f.h.Client.ActualLRPs(f.lg, "", models.ActualLRPFilter{ProcessGuid: pg})
	if err != nil {
		return -1, err.Error()
	}
	n := 0
	for _, l := range lrps {
		if l.State == models.ActualLRPStateRunning {
			n++
		}
	}
	return n, fmt.Sprint(lrps)
}

// TestEvacuation: an evacuating cell keeps its instance running until the
// replacement is RUNNING on another cell, so the app never has fewer
// RUNNING instances than desired; then the cell reports itself evacuated,
// refuses new work, and leaves nothing behind.
func TestEvacuation(t *testing.T) {
	h := newBBS(t)
	a := addCell(t, h, "cell-a", evacuateFast)
	b := addCell(t, h, "cell-b", evacuateFast)

	desired := sleeper("pg-evac")
	a.desireAndPlace(t, desired, "ig-a")
	a.waitRunning(t, "pg-evac", "ig-a")

	var lowest atomic.Int64
	lowest.Store(1)
	var lowestSeen atomic.Value
	stopWatch := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if n, seen := a.runningCount(t, "pg-evac"); n >= 0 && int64(n) < lowest.Load() {
				lowest.Store(int64(n))
				lowestSeen.Store(seen)
			}
		}
	}()

	postEvacuate(t, a)
	// The BBS re-places the instance: its ordinary copy goes back to
	// UNCLAIMED while the evacuating copy stays RUNNING on cell-a.
	var key models.ActualLRPKey
	eventually(t, "an evacuating copy and an unclaimed replacement", func() (bool, string) {
		lrps, err := h.Client.ActualLRPs(a.lg, "", models.ActualLRPFilter{ProcessGuid: "pg-evac"})
		if err != nil {
			return false, err.Error()
		}
		var evac, unclaimed bool
		for _, l := range lrps {
			evac = evac || (l.Presence == models.ActualLRP_Evacuating && l.State == models.ActualLRPStateRunning && l.CellId == "cell-a")
			if l.Presence == models.ActualLRP_Ordinary && l.State == models.ActualLRPStateUnclaimed {
				unclaimed, key = true, l.ActualLRPKey
			}
		}
		return evac && unclaimed, fmt.Sprint(lrps)
	})
	// An evacuating cell takes no new work.
	rejected, err := a.rc.Perform(a.lg, rep.Work{LRPs: []rep.LRP{rep.NewLRP("ig-refused", key,
		rep.NewResource(desired.MemoryMb, desired.DiskMb, 0), rep.NewPlacementConstraint(desired.RootFs, nil, nil))}})
	if err != nil || len(rejected.LRPs) != 1 {
		t.Fatalf("an evacuating cell accepted work: rejected %+v, %v", rejected, err)
	}
	select {
	case <-a.d.Evacuated():
		t.Fatal("evacuation finished before the replacement ran")
	case <-time.After(500 * time.Millisecond):
	}

	// The auctioneer's part: place the replacement on cell-b.
	rejected, err = b.rc.Perform(b.lg, rep.Work{LRPs: []rep.LRP{rep.NewLRP("ig-b", key,
		rep.NewResource(desired.MemoryMb, desired.DiskMb, 0), rep.NewPlacementConstraint(desired.RootFs, nil, nil))}})
	if err != nil || len(rejected.LRPs) != 0 {
		t.Fatalf("placing the replacement: rejected %+v, %v", rejected, err)
	}
	select {
	case <-a.d.Evacuated():
	case <-time.After(waitFor):
		t.Fatal("cell-a did not finish evacuating after the replacement ran")
	}
	close(stopWatch)
	wg.Wait()
	if lowest.Load() < 1 {
		t.Fatalf("RUNNING instances fell to %d during the evacuation: %v", lowest.Load(), lowestSeen.Load())
	}
	lrps, err := h.Client.ActualLRPs(a.lg, "", models.ActualLRPFilter{ProcessGuid: "pg-evac"})
	if err != nil || len(lrps) != 1 || lrps[0].CellId != "cell-b" || lrps[0].State != models.ActualLRPStateRunning ||
		lrps[0].Presence != models.ActualLRP_Ordinary {
		t.Fatalf("after the evacuation: %v %v", lrps, err)
	}
	if cs, _ := a.d.backend.Containers(t.Context()); len(cs) != 0 {
		t.Fatalf("cell-a still has %d containers", len(cs))
	}
}

// TestEvacuationTimeout: with nowhere to go, the instance is stopped when
// the evacuation timeout passes, its evacuating copy is removed, and the
// cell reports itself evacuated.
func TestEvacuationTimeout(t *testing.T) {
	f := addCell(t, newBBS(t), "cell-timeout", func(c *Settings, o *Options) {
		evacuateFast(c, o)
		c.EvacuationTimeout = Duration(1500 * time.Millisecond)
	})
	f.desireAndPlace(t, sleeper("pg-timeout"), "ig-timeout")
	f.waitRunning(t, "pg-timeout", "ig-timeout")
	f.placeTask(t, "task-timeout", taskDef("sleep 60", ""))
	f.waitTask(t, "task-timeout", models.Task_Running)
	start := time.Now()
	postEvacuate(t, f)
	select {
	case <-f.d.Evacuated():
	case <-time.After(waitFor):
		t.Fatal("evacuation did not time out")
	}
	if el := time.Since(start); el < 1500*time.Millisecond {
		t.Fatalf("evacuation finished after %s, before its timeout", el)
	}
	for _, l := range f.actual(t, "pg-timeout") {
		if l.CellId == f.cfg.CellID {
			t.Fatalf("still on the cell after the evacuation timed out: %s", l)
		}
	}
	task := f.waitTask(t, "task-timeout", models.Task_Completed)
	if !task.Failed {
		t.Fatalf("the task cut off by the evacuation timeout did not fail: %s", task)
	}
	if cs, _ := f.d.backend.Containers(t.Context()); len(cs) != 0 {
		t.Fatalf("%d containers left", len(cs))
	}
}
