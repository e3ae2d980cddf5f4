package service_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/converger"
	"github.com/diego-go/diego/src/bbs/events"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/testdb"
)

var logger = lager.NewLogger("service-test")

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func desired(guid string, n int32) *models.DesiredLRP {
	return &models.DesiredLRP{ProcessGuid: guid, Domain: "d", RootFs: "preloaded:x", Instances: n, MemoryMb: 64,
		Action:     models.WrapAction(&models.RunAction{Path: "/bin/app", User: "vcap"}),
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}}}
}

// TestInstancesAreBounded: DesireLRP and UpdateDesiredLRP refuse more
// instances than max_instances_per_lrp with an InvalidRequest that names
// the limit and the setting, and store nothing (issue 17: 2147483647
// instances were accepted and inserted in one transaction).
func TestInstancesAreBounded(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t),
		Configure: func(c *config.Config) { c.MaxInstancesPerLRP = 500 }})
	check := func(what string, err error) {
		t.Helper()
		var me *models.Error
		if !errors.As(err, &me) || me.Type != models.Error_InvalidRequest ||
			!strings.Contains(me.Message, "500") || !strings.Contains(me.Message, "max_instances_per_lrp") {
			t.Fatalf("%s: err = %v, want an InvalidRequest naming the limit 500 and max_instances_per_lrp", what, err)
		}
	}
	check("DesireLRP(MaxInt32)", h.Client.DesireLRP(logger, "", desired("huge", math.MaxInt32)))
	check("DesireLRP(501)", h.Client.DesireLRP(logger, "", desired("huge", 501)))
	if _, err := h.Client.DesiredLRPByProcessGuid(logger, "", "huge"); err == nil {
		t.Fatal("a refused desire stored its desired LRP")
	}
	must(t, h.Client.DesireLRP(logger, "", desired("ok", 500)))
	n := int32(math.MaxInt32)
	check("UpdateDesiredLRP(MaxInt32)", h.Client.UpdateDesiredLRP(logger, "", "ok", &models.DesiredLRPUpdate{OptionalInstances: &models.DesiredLRPUpdate_Instances{Instances: n}}))
	got, err := h.Client.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: "ok"})
	must(t, err)
	if len(got) != 500 {
		t.Fatalf("%d instances of ok, want 500", len(got))
	}
}

// TestDesireManyInstances: 20,000 instances, the default limit, are all
// created on SQLite and PostgreSQL.
func TestDesireManyInstances(t *testing.T) {
	for _, b := range testdb.Backends[:2] {
		t.Run(b.Driver, func(t *testing.T) {
			h := bbstest.Start(t, bbstest.Options{Driver: b.Driver, DSN: b.NewDSN(t), Auctioneer: &bbstest.Recorder{}})
			must(t, h.Client.DesireLRP(logger, "", desired("many", 20000)))
			got, err := h.Daemon.Store().ActualLRPs(context.Background(), store.ActualFilter{ProcessGuid: "many"})
			must(t, err)
			seen := map[int32]bool{}
			for _, a := range got {
				seen[a.Index] = true
			}
			if len(got) != 20000 || len(seen) != 20000 {
				t.Fatalf("%d rows, %d distinct indices; want 20000", len(got), len(seen))
			}
		})
	}
}

// cancelling is a store whose transactions count the actual LRPs inserted
// and cancel the request's context once limit rows have been written.
type cancelling struct {
	store.Store
	inserted atomic.Int64
	limit    int64
	cancel   context.CancelFunc
}

func (c *cancelling) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return c.Store.Update(ctx, func(tx store.Tx) error { return fn(&countingTx{Tx: tx, c: c}) })
}

type countingTx struct {
	store.Tx
	c *cancelling
}

func (t *countingTx) add(n int) {
	if t.c.inserted.Add(int64(n)) >= t.c.limit {
		t.c.cancel()
	}
}

func (t *countingTx) InsertActualLRP(a *models.ActualLRP) error {
	err := t.Tx.InsertActualLRP(a)
	t.add(1)
	return err
}

// InsertActualLRPs cancels before the call that would cross the limit, so
// the batch insert itself must notice.
func (t *countingTx) InsertActualLRPs(as []*models.ActualLRP) ([]*models.ActualLRP, error) {
	t.add(len(as))
	return t.Tx.InsertActualLRPs(as)
}

// TestDesireLRPStopsWhenCancelled: a desire whose request is cancelled
// half-way (1,500 of 3,000 rows sent) stops inserting; what it wrote is whole transactions (the
// desired row and a prefix of its instances, never a torn batch), and the
// next convergence pass creates the rest.
func TestDesireLRPStopsWhenCancelled(t *testing.T) {
	for _, b := range testdb.Backends[:2] {
		t.Run(b.Driver, func(t *testing.T) {
			st, err := sqlstore.Open(context.Background(), sqlstore.Config{Driver: b.Driver, DSN: b.NewDSN(t)},
				storetest.NewRing(t, "k1"), slog.New(slog.DiscardHandler))
			must(t, err)
			t.Cleanup(func() { st.Close() })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cs := &cancelling{Store: st, limit: 1500, cancel: cancel}
			hub := events.NewHub(16, slog.New(slog.DiscardHandler))
			svc, err := service.New(service.Config{Store: cs, LRPEvents: hub, TaskEvents: hub, Logger: slog.New(slog.DiscardHandler)})
			must(t, err)
			t.Cleanup(svc.Close)
			_ = svc.DesireLRP(ctx, desired("big", 3000))

			bg := context.Background()
			rows, err := st.ActualLRPs(bg, store.ActualFilter{ProcessGuid: "big"})
			must(t, err)
			if _, err := st.DesiredLRP(bg, "big"); err != nil || len(rows) == 0 || len(rows) >= 3000 {
				t.Fatalf("after cancelling at 1500 inserted rows: desired row err=%v, %d instance rows; want the desired row and fewer than 3000 rows",
					err, len(rows))
			}
			for _, a := range rows {
				if a.Index >= int32(len(rows)) {
					t.Fatalf("rows are not a prefix of the indices: index %d among %d rows", a.Index, len(rows))
				}
			}
			t.Logf("cancelled after %d rows were sent; %d committed", cs.inserted.Load(), len(rows))

			c, err := converger.New(converger.Config{}, st, svc, nil, nil)
			must(t, err)
			must(t, st.Update(bg, func(tx store.Tx) error { return tx.UpsertDomain("d", time.Time{}) }))
			if _, err := c.Pass(bg); err != nil {
				t.Fatal(err)
			}
			rows, err = st.ActualLRPs(bg, store.ActualFilter{ProcessGuid: "big"})
			must(t, err)
			if len(rows) != 3000 {
				t.Fatalf("after a convergence pass: %d rows, want 3000", len(rows))
			}
		})
	}
}
