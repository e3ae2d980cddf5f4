package service_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/events"
	"github.com/diego-go/diego/src/bbs/lifecycle"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// updateCounting counts write transactions.
type updateCounting struct {
	store.Store
	updates atomic.Int64
}

func (u *updateCounting) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	u.updates.Add(1)
	return u.Store.Update(ctx, fn)
}

// A claim or start repeated by the same cell changes nothing and takes no
// write transaction; the first of each, and a claim by another cell (an
// error, decided on the locked rows), do.
func TestRepeatedClaimAndStartTakeNoWriteTransaction(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{Driver: "sqlite", DSN: testdb.SQLite(t)},
		storetest.NewRing(t, "k1"), slog.New(slog.DiscardHandler))
	must(t, err)
	t.Cleanup(func() { st.Close() })
	cs := &updateCounting{Store: st}
	hub := events.NewHub(64, slog.New(slog.DiscardHandler))
	sub := hub.Subscribe("")
	svc, err := service.New(service.Config{Store: cs, LRPEvents: hub, TaskEvents: hub, Logger: slog.New(slog.DiscardHandler)})
	must(t, err)
	t.Cleanup(svc.Close)
	must(t, svc.DesireLRP(ctx, desired("web", 1)))

	key := models.NewActualLRPKey("web", 0, "d")
	ik := models.NewActualLRPInstanceKey("ig-1", "cell-a")
	writes := func(what string, want int64, do func() error) {
		t.Helper()
		before := cs.updates.Load()
		err := do()
		if got := cs.updates.Load() - before; got != want {
			t.Fatalf("%s (err %v): %d write transactions, want %d", what, err, got, want)
		}
	}
	writes("first claim", 1, func() error { return svc.ClaimActualLRP(ctx, "web", 0, ik) })
	writes("repeated claim", 0, func() error { return svc.ClaimActualLRP(ctx, "web", 0, ik) })
	other := models.NewActualLRPInstanceKey("ig-2", "cell-b")
	writes("claim by another cell", 1, func() error {
		if err := svc.ClaimActualLRP(ctx, "web", 0, other); err == nil {
			t.Fatal("a claim by another cell succeeded")
		}
		return nil
	})
	ri := lifecycle.RunningInfo{NetInfo: models.NewActualLRPNetInfo("10.0.0.1", "10.0.0.2", models.ActualLRPNetInfo_PreferredAddressHost)}
	writes("first start", 1, func() error { return svc.StartActualLRP(ctx, key, ik, ri) })
	writes("repeated start", 0, func() error { return svc.StartActualLRP(ctx, key, ik, ri) })

	rows, err := st.ActualLRPs(ctx, store.ActualFilter{ProcessGuid: "web"})
	must(t, err)
	if len(rows) != 1 || rows[0].State != models.ActualLRPStateRunning || rows[0].ActualLRPInstanceKey != ik {
		t.Fatalf("rows %v: want one RUNNING on cell-a", rows)
	}
	// created, claimed, started: the repeats published nothing (read up
	// to a marker published after them)
	hub.Publish(models.NewDesiredLRPRemovedEvent(desired("marker", 1), ""))
	var got []string
	for {
		e, err := sub.Next(ctx)
		must(t, err)
		if r, ok := e.(*models.DesiredLRPRemovedEvent); ok && r.DesiredLrp.ProcessGuid == "marker" {
			break
		}
		got = append(got, e.EventType())
	}
	want := []string{models.EventTypeDesiredLRPCreated, models.EventTypeActualLRPInstanceCreated,
		models.EventTypeActualLRPInstanceChanged, models.EventTypeActualLRPInstanceChanged}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}
