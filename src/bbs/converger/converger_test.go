package converger_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/converger"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket/record"
)

var logger = lager.NewLogger("converger")

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func presence(t *testing.T, st *sqlstore.Store, cell string) {
	t.Helper()
	v, _ := json.Marshal(models.NewCellPresence(cell, "https://"+cell+":1801", "https://"+cell+":1801", "z1",
		models.NewCellCapacity(1024, 1024, 10), nil, nil, nil, nil))
	_, err := st.AcquireLock(context.Background(), record.Lock{Key: cell, Owner: cell, Value: string(v), Type: "presence", TTLSeconds: 15})
	must(t, err)
}

func lrp(guid string, n int32) *models.DesiredLRP {
	return &models.DesiredLRP{ProcessGuid: guid, Domain: "d", RootFs: "preloaded:x", Instances: n, MemoryMb: 64,
		Action:     models.WrapAction(&models.RunAction{Path: "/bin/app", User: "vcap"}),
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}}}
}

func byPresence(t *testing.T, h *bbstest.Harness, guid string) map[string]string {
	t.Helper()
	lrps, err := h.Client.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: guid})
	must(t, err)
	out := map[string]string{}
	for _, l := range lrps {
		out[l.Presence.String()+"/"+string(rune('0'+l.Index))] = l.State + "@" + l.CellId
	}
	return out
}

func TestConvergenceEndToEnd(t *testing.T) {
	rec := &bbstest.Recorder{}
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t), Auctioneer: rec})
	st := h.Daemon.Store()
	c, err := converger.New(converger.Config{}, h.Daemon.ServiceStore(), h.Daemon.Service(), nil, nil)
	must(t, err)
	ctx := context.Background()
	must(t, h.Client.UpsertDomain(logger, "", "d", 0))
	presence(t, st, "cell-a")

	must(t, h.Client.DesireLRP(logger, "", lrp("app", 2)))
	rec.Indices()
	for i := int32(0); i < 2; i++ {
		key := models.NewActualLRPKey("app", i, "d")
		ik := models.NewActualLRPInstanceKey("ig-"+string(rune('0'+i)), "cell-a")
		net := models.NewActualLRPNetInfo("10.0.0.1", "", models.ActualLRPNetInfo_PreferredAddressHost)
		must(t, h.Client.ClaimActualLRP(logger, "", &key, &ik))
		must(t, h.Client.StartActualLRP(logger, "", &key, &ik, &net, nil, nil, true, "z1"))
	}

	t.Run("steady state does nothing", func(t *testing.T) {
		r, err := c.Pass(ctx)
		must(t, err)
		if r.LRPActions != 0 || r.TaskActions != 0 || len(rec.Indices()) != 0 {
			t.Fatalf("report = %+v", r)
		}
	})

	t.Run("cell lost: suspects kept, replacements auctioned", func(t *testing.T) {
		must(t, st.ReleaseLock(ctx, "cell-a", "cell-a"))
		r, err := c.Pass(ctx)
		must(t, err)
		if r.LRPApplied != 2 || r.AuctionedLRPs != 2 {
			t.Fatalf("report = %+v", r)
		}
		if got := rec.Indices(); !slices.Equal(got, []string{"app/0", "app/1"}) {
			t.Fatalf("auctioned = %v", got)
		}
		got := byPresence(t, h, "app")
		want := map[string]string{"SUSPECT/0": "RUNNING@cell-a", "SUSPECT/1": "RUNNING@cell-a", "ORDINARY/0": "UNCLAIMED@", "ORDINARY/1": "UNCLAIMED@"}
		if !mapsEqual(got, want) {
			t.Fatalf("instances = %v", got)
		}
		// a second pass does nothing more
		if r, _ := c.Pass(ctx); r.LRPApplied != 0 {
			t.Fatalf("second pass = %+v", r)
		}
	})

	t.Run("cell back before the replacements run: suspects promoted", func(t *testing.T) {
		presence(t, st, "cell-a")
		r, err := c.Pass(ctx)
		must(t, err)
		if r.LRPApplied != 2 {
			t.Fatalf("report = %+v", r)
		}
		got := byPresence(t, h, "app")
		want := map[string]string{"ORDINARY/0": "RUNNING@cell-a", "ORDINARY/1": "RUNNING@cell-a"}
		if !mapsEqual(got, want) {
			t.Fatalf("instances = %v", got)
		}
	})

	t.Run("missing instance recreated and auctioned", func(t *testing.T) {
		key := models.NewActualLRPKey("app", 1, "d")
		must(t, h.Client.RemoveActualLRP(logger, "", &key, nil))
		_, err := c.Pass(ctx)
		must(t, err)
		if got := rec.Indices(); !slices.Equal(got, []string{"app/1"}) {
			t.Fatalf("auctioned = %v", got)
		}
		if got := byPresence(t, h, "app")["ORDINARY/1"]; got != "UNCLAIMED@" {
			t.Fatalf("index 1 = %q", got)
		}
	})

	t.Run("task on a vanished cell fails", func(t *testing.T) {
		must(t, h.Client.DesireTask(logger, "", "task", "d", &models.TaskDefinition{RootFs: "preloaded:x",
			Action: models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"})}))
		_, err := h.Client.StartTask(logger, "", "task", "cell-gone")
		must(t, err)
		_, err = c.Pass(ctx)
		must(t, err)
		task, err := h.Client.TaskByGuid(logger, "", "task")
		must(t, err)
		if task.State != models.Task_Completed || !task.Failed || task.FailureReason != "cell disappeared before completion" {
			t.Fatalf("task = %+v", task)
		}
	})

	t.Run("loop reacts to a lost cell within seconds", func(t *testing.T) {
		rec.Notify = make(chan struct{}, 1)
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		loop, err := converger.New(converger.Config{Interval: time.Hour, CellPollInterval: 200 * time.Millisecond},
			h.Daemon.ServiceStore(), h.Daemon.Service(), nil, nil)
		must(t, err)
		go loop.Run(runCtx)
		testutil.WaitFor(t, 10*time.Second, "the start-up pass", func() bool { return loop.Passes() >= 1 })
		time.Sleep(300 * time.Millisecond) // let the watcher learn the cells
		rec.Indices()
		lost := time.Now()
		must(t, st.ReleaseLock(ctx, "cell-a", "cell-a"))
		select {
		case <-rec.Notify:
		case <-time.After(time.Minute): // the interval is an hour: only the cell watcher can trigger this pass
			t.Fatal("no replacement requested within a minute of the presence disappearing")
		}
		t.Logf("presence lost -> replacements requested in %v", time.Since(lost))
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
