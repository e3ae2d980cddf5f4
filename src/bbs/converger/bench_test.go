package converger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/converger"
	"github.com/diego-go/diego/src/bbs/events"
	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/desiredcache"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/locket/record"
)

// benchDesired and benchCells set the scale: 100,000 desired LRPs with 2 or 3
// instances each (250,000 actual LRPs, all RUNNING) on 1,000 cells.
const (
	benchDesired = 100000
	benchCells   = 1000
)

func BenchmarkPassSteadyStateSQLite(b *testing.B) {
	benchPass(b, sqlstore.DriverSQLite, testdb.SQLite(b))
}

func BenchmarkPassSteadyStatePostgres(b *testing.B) {
	benchPass(b, sqlstore.DriverPostgres, testdb.Postgres(b))
}

// benchPass times one convergence pass with nothing to do.
func benchPass(b *testing.B, driver, dsn string) {
	ctx := context.Background()
	_, c := openPopulated(b, driver, dsn, converger.Config{}, nil)
	b.ResetTimer()
	for b.Loop() {
		r, err := c.Pass(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if r.LRPActions != 0 || r.Counts.Running != benchDesired*5/2 {
			b.Fatalf("not a steady state: %+v", r)
		}
	}
}

// openPopulated opens a store on dsn, fills it with the benchmark's cluster,
// loads the desired LRP cache over it and returns the store with a converger
// (configured by cfg) over the cache and a service sending start requests to
// auct; all close with the benchmark.
func openPopulated(b *testing.B, driver, dsn string, cfg converger.Config, auct service.Auctioneer) (*sqlstore.Store, *converger.Converger) {
	ctx := context.Background()
	ring, _ := keyring.NewRing(map[string]string{"k": "p"}, "k")
	inner, err := sqlstore.Open(ctx, sqlstore.Config{Driver: driver, DSN: dsn}, ring, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inner.Close() })
	populate(b, inner)
	st, err := desiredcache.New(ctx, inner)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := service.New(service.Config{Store: st, LRPEvents: events.NewHub(0, nil), TaskEvents: events.NewHub(0, nil), Auctioneer: auct})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	c, err := converger.New(cfg, st, svc, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return inner, c
}

func populate(b *testing.B, st *sqlstore.Store) {
	ctx := context.Background()
	for c := 0; c < benchCells; c++ {
		id := fmt.Sprintf("cell-%d", c)
		v, _ := json.Marshal(models.NewCellPresence(id, "https://"+id, "https://"+id, "z1", models.NewCellCapacity(1<<20, 1<<20, 250), nil, nil, nil, nil))
		if _, err := st.AcquireLock(ctx, record.Lock{Key: id, Owner: id, Value: string(v), Type: "presence", TTLSeconds: 3600}); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.UpsertDomain("bench", time.Time{}) }); err != nil {
		b.Fatal(err)
	}
	n := 0
	for start := 0; start < benchDesired; start += 1000 {
		err := st.Update(ctx, func(tx store.Tx) error {
			for i := start; i < start+1000; i++ {
				g := fmt.Sprintf("bench-%08d", i)
				inst := int32(2 + i%2)
				d := &models.DesiredLRP{ProcessGuid: g, Domain: "bench", RootFs: "preloaded:x", Instances: inst, MemoryMb: 256,
					Action:          models.WrapAction(&models.RunAction{Path: "/bin/app", User: "vcap"}),
					MetricTags:      map[string]*models.MetricTagValue{"source_id": {Static: g}},
					ModificationTag: &models.ModificationTag{Epoch: "e"}}
				if err := tx.InsertDesiredLRP(d); err != nil {
					return err
				}
				for j := int32(0); j < inst; j++ {
					n++
					a := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey(g, j, "bench"),
						ActualLRPInstanceKey: models.NewActualLRPInstanceKey(fmt.Sprintf("ig-%d", n), fmt.Sprintf("cell-%d", n%benchCells)),
						ActualLRPNetInfo:     models.NewActualLRPNetInfo("10.0.0.1", "10.1.0.1", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61000, 8080)),
						State:                models.ActualLRPStateRunning, Since: 1, Presence: models.ActualLRP_Ordinary,
						ModificationTag: models.ModificationTag{Epoch: "e"}}
					if err := tx.InsertActualLRP(a); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCellLossToAuctionSQLite(b *testing.B) {
	benchCellLoss(b, sqlstore.DriverSQLite, testdb.SQLite(b))
}

func BenchmarkCellLossToAuctionPostgres(b *testing.B) {
	benchCellLoss(b, sqlstore.DriverPostgres, testdb.Postgres(b))
}

// benchCellLoss measures, at full scale, the time from a cell's presence
// disappearing to the auction request for its instances' replacements, with
// the loop running as in the BBS (cell presences polled every second).
func benchCellLoss(b *testing.B, driver, dsn string) {
	ctx := context.Background()
	rec := &bbstest.Recorder{Notify: make(chan struct{}, 1)}
	inner, c := openPopulated(b, driver, dsn, converger.Config{Interval: time.Hour, CellPollInterval: time.Second}, rec)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.Run(runCtx)
	for c.Passes() < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // the watcher has seen every cell
	var worst time.Duration
	b.ResetTimer()
	i := 0
	for b.Loop() {
		cell := fmt.Sprintf("cell-%d", i)
		i++
		rec.Indices()
		lost := time.Now()
		if err := inner.ReleaseLock(ctx, cell, cell); err != nil {
			b.Fatal(err)
		}
		select {
		case <-rec.Notify:
		case <-time.After(30 * time.Second):
			b.Fatal("no auction request within 30 s")
		}
		took := time.Since(lost)
		worst = max(worst, took)
		if n := len(rec.Indices()); n != benchDesired*5/2/benchCells {
			b.Fatalf("%d instances re-auctioned, want %d", n, benchDesired*5/2/benchCells)
		}
		time.Sleep(1200 * time.Millisecond) // let the watcher settle before the next loss
	}
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}
