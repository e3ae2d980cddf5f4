package desiredcache_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/desiredcache"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/testdb"
)

func opener(driver string, newDSN func(testing.TB) string) storetest.Opener {
	return storetest.PerTest(newDSN, func(ctx context.Context, dsn string, ring *keyring.Ring) (store.Store, error) {
		inner, err := sqlstore.Open(ctx, sqlstore.Config{Driver: driver, DSN: dsn}, ring, nil)
		if err != nil {
			return nil, err
		}
		// the BBS runs the start-up re-encryption policy before the cache loads
		if err := reencrypt.Settle(ctx, inner, ring, nil); err != nil {
			inner.Close()
			return nil, err
		}
		c, err := desiredcache.New(ctx, inner)
		if err != nil {
			inner.Close()
			return nil, err
		}
		return c, nil
	})
}

// The cached store must honour the same contract as the database it wraps.
func TestContractSQLite(t *testing.T) { storetest.Run(t, opener(sqlstore.DriverSQLite, testdb.SQLite)) }
func TestContractPostgres(t *testing.T) {
	storetest.Run(t, opener(sqlstore.DriverPostgres, testdb.Postgres))
}

func open(t testing.TB, driver, dsn string) (*sqlstore.Store, *desiredcache.Store) {
	t.Helper()
	ring, _ := keyring.NewRing(map[string]string{"k": "p"}, "k")
	inner, err := sqlstore.Open(context.Background(), sqlstore.Config{Driver: driver, DSN: dsn}, ring, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	c, err := desiredcache.New(context.Background(), inner)
	if err != nil {
		t.Fatal(err)
	}
	return inner, c
}

func lrp(guid string, instances int32) *models.DesiredLRP {
	return &models.DesiredLRP{ProcessGuid: guid, Domain: "d", RootFs: "preloaded:x", Instances: instances,
		Action: models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"}), ModificationTag: &models.ModificationTag{Epoch: "e"}}
}

// Many writers race on the same rows (updates, deletes, re-creates); the
// cache must end equal to the database.
func testConverges(t *testing.T, driver, dsn string) {
	inner, c := open(t, driver, dsn)
	ctx := context.Background()
	guids := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				g := guids[(w+i)%len(guids)]
				_ = c.Update(ctx, func(tx store.Tx) error {
					d, err := tx.DesiredLRP(g)
					if errors.Is(err, store.ErrNotFound) {
						return tx.InsertDesiredLRP(lrp(g, 1))
					}
					if err != nil {
						return err
					}
					if d.Instances >= 5 && w%2 == 0 {
						return tx.DeleteDesiredLRP(g)
					}
					d.Instances++
					return tx.UpdateDesiredLRP(d)
				})
			}
		}(w)
	}
	wg.Wait()
	for _, g := range guids {
		want, werr := inner.DesiredLRP(ctx, g)
		got, gerr := c.DesiredLRP(ctx, g)
		if errors.Is(werr, store.ErrNotFound) != errors.Is(gerr, store.ErrNotFound) {
			t.Fatalf("%s: database says %v, cache says %v", g, werr, gerr)
		}
		if werr == nil && (got.Instances != want.Instances) {
			t.Fatalf("%s: database has %d instances, cache %d", g, want.Instances, got.Instances)
		}
	}
	// and a fresh load agrees with the long-lived cache
	fresh, err := desiredcache.New(ctx, inner)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Len() != c.Len() {
		t.Fatalf("fresh load has %d, cache %d", fresh.Len(), c.Len())
	}
}

func TestConvergesSQLite(t *testing.T) { testConverges(t, sqlstore.DriverSQLite, testdb.SQLite(t)) }
func TestConvergesPostgres(t *testing.T) {
	testConverges(t, sqlstore.DriverPostgres, testdb.Postgres(t))
}
func TestConvergesMySQL(t *testing.T) { testConverges(t, sqlstore.DriverMySQL, testdb.MySQL(t)) }

// A write whose transaction fails leaves the cache as the database is.
func TestRolledBackWriteNotCached(t *testing.T) {
	_, c := open(t, sqlstore.DriverSQLite, testdb.SQLite(t))
	ctx := context.Background()
	boom := errors.New("boom")
	err := c.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertDesiredLRP(lrp("x", 1)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := c.DesiredLRP(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled back insert is visible: %v", err)
	}
	n := 0
	_ = c.EachSchedulingInfo(ctx, store.DesiredFilter{}, func([]byte) error { n++; return nil })
	if n != 0 {
		t.Fatalf("rolled back insert listed")
	}
}
