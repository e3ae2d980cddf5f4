package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/locket/record"
)

func TestPresences(t *testing.T) {
	eachBackend(t, func(t *testing.T, driver, dsn string) {
		s := mustOpen(t, driver, dsn, storetest.NewRing(t, "k1"))
		ins := s.d.q("INSERT INTO locks (path, owner, value, type, modified_index, modified_id, ttl) VALUES (?, ?, ?, ?, ?, ?, ?)")
		for _, p := range []record.Lock{
			{Key: "cell-2", Owner: "rep-2", Value: `{"cell_id":"cell-2"}`, Type: "presence", TTLSeconds: 15, ModifiedIndex: 3, ModifiedID: "m2"},
			{Key: "auctioneer", Owner: "auctioneer-0", Value: "", Type: "lock", TTLSeconds: 15, ModifiedIndex: 1, ModifiedID: "m0"},
			{Key: "cell-1", Owner: "rep-1", Value: `{"cell_id":"cell-1"}`, Type: "presence", TTLSeconds: 15, ModifiedIndex: 7, ModifiedID: "m1"},
		} {
			if _, err := s.w.Exec(ins, p.Key, p.Owner, p.Value, p.Type, p.ModifiedIndex, p.ModifiedID, p.TTLSeconds); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Presences(context.Background(), "presence")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Key != "cell-1" || got[1].Key != "cell-2" {
			t.Fatalf("Presences(presence) = %+v, want cell-1, cell-2", got)
		}
		want := record.Lock{Key: "cell-1", Owner: "rep-1", Value: `{"cell_id":"cell-1"}`, Type: "presence", TTLSeconds: 15, ModifiedIndex: 7, ModifiedID: "m1"}
		if got[0] != want {
			t.Errorf("Presences(presence)[0] = %+v, want %+v", got[0], want)
		}
		locks, err := s.Presences(context.Background(), "lock")
		if err != nil || len(locks) != 1 || locks[0].Owner != "auctioneer-0" {
			t.Errorf("Presences(lock) = %+v, %v; want the auctioneer lock", locks, err)
		}
	})
}

// TestUpdateRetriesDeadlock makes two transactions lock two rows in
// opposite orders. The database aborts one with a deadlock; Update must
// retry it so both succeed. (SQLite has one writer, so it cannot deadlock.)
func TestUpdateRetriesDeadlock(t *testing.T) {
	eachBackend(t, func(t *testing.T, driver, dsn string) {
		if driver == DriverSQLite {
			return
		}
		s := mustOpen(t, driver, dsn, storetest.NewRing(t, "k1"))
		ctx := context.Background()
		err := s.Update(ctx, func(tx store.Tx) error {
			for _, g := range []string{"p1", "p2"} {
				if err := tx.InsertActualLRP(storetest.NewActualLRP(g, 0, models.ActualLRP_Ordinary, "d", "c")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		locked := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		var attempts [2]int
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for w, order := range [2][2]string{{"p1", "p2"}, {"p2", "p1"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[w] = s.Update(ctx, func(tx store.Tx) error {
					attempts[w]++
					first, err := tx.ActualLRPs(order[0], nil)
					if err != nil {
						return err
					}
					if attempts[w] == 1 { // first attempt: wait until the other holds its row
						close(locked[w])
						<-locked[1-w]
					}
					second, err := tx.ActualLRPs(order[1], nil)
					if err != nil {
						return err
					}
					for _, a := range append(first, second...) {
						a.CrashCount++
						if err := tx.UpdateActualLRP(a); err != nil {
							return err
						}
					}
					return nil
				})
			}()
		}
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Errorf("transaction %d: %v", w, err)
			}
		}
		if attempts[0]+attempts[1] < 3 {
			t.Errorf("attempts = %v; want one transaction retried after the deadlock", attempts)
		}
		as, err := s.ActualLRPs(ctx, store.ActualFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.CrashCount != 2 {
				t.Errorf("%s crash count = %d, want 2", a.ProcessGuid, a.CrashCount)
			}
		}
	})
}

// TestSQLiteBusyIsRetryable locks the database from another connection and
// checks the resulting SQLITE_BUSY maps to ErrRetryable.
func TestSQLiteBusyIsRetryable(t *testing.T) {
	path := t.TempDir() + "/bbs.db"
	s := mustOpen(t, DriverSQLite, path, storetest.NewRing(t, "k1"))
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// The store's writer holds the write lock while the other connection tries to write.
	hold := make(chan struct{})
	held := make(chan struct{})
	go func() {
		_ = s.Update(context.Background(), func(tx store.Tx) error {
			close(held)
			<-hold
			return tx.UpsertDomain("d", time.Time{})
		})
	}()
	<-held
	_, err = other.Exec("INSERT INTO domains (domain, expires_at) VALUES ('x', 0)")
	close(hold)
	if !errors.Is(s.d.wrap(err), store.ErrRetryable) {
		t.Errorf("write while locked: %v; want it mapped to ErrRetryable", err)
	}
}
