package sqlstore

import (
	"context"
	"errors"
	"testing"

	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/locket/record"
	"github.com/diego-go/diego/src/locket/sqllock"
)

func mustOpenLocks(t testing.TB, driver, dsn string) *sqllock.Store {
	t.Helper()
	s, err := sqllock.Open(context.Background(), Config{Driver: driver, DSN: dsn}, testLogger(t))
	if err != nil {
		t.Fatalf("sqllock.Open(%s): %v", driver, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustAcquire(t *testing.T, s *sqllock.Store, l record.Lock) record.Lock {
	t.Helper()
	got, err := s.AcquireLock(context.Background(), l)
	if err != nil {
		t.Fatalf("AcquireLock(%+v): %v", l, err)
	}
	return got
}

// TestLocksSharedWithBBSStore: the BBS store and a LockStore on one database
// see the same rows, and a floor created from existing rows starts above them.
func TestLocksSharedWithBBSStore(t *testing.T) {
	eachBackend(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		bbs := mustOpen(t, driver, dsn, storetest.NewRing(t, "k1"))
		// A row written before any floor existed (as by an older Locket).
		if _, err := bbs.w.Exec(bbs.d.q("INSERT INTO locks (path, owner, value, type, modified_index, modified_id, ttl) VALUES (?, ?, ?, ?, ?, ?, ?)"),
			"cell-9", "rep-9", "{}", "presence", 41, "m9", 15); err != nil {
			t.Fatal(err)
		}
		locks := mustOpenLocks(t, driver, dsn)
		got := mustAcquire(t, locks, record.Lock{Key: "cell-1", Owner: "rep-1", Value: "{}", Type: "presence", TTLSeconds: 15})
		if got.ModifiedIndex != 42 {
			t.Errorf("first new lock's index = %d, want 42 (above the existing 41)", got.ModifiedIndex)
		}
		viaBBS, err := bbs.AcquireLock(ctx, record.Lock{Key: "bbs", Owner: "bbs-0", Type: "lock", TTLSeconds: 15})
		if err != nil || viaBBS.ModifiedIndex != 43 {
			t.Fatalf("Store.AcquireLock = %+v, %v; want index 43", viaBBS, err)
		}
		presences, err := bbs.Presences(ctx, "presence")
		if err != nil || len(presences) != 2 || presences[0].Key != "cell-1" || presences[0].ModifiedID != got.ModifiedID {
			t.Errorf("Presences = %+v, %v; want cell-1 (as acquired) and cell-9", presences, err)
		}
		if l, err := locks.FetchLock(ctx, "bbs"); err != nil || l != viaBBS {
			t.Errorf("sqllock.Store.FetchLock(bbs) = %+v, %v; want %+v", l, err, viaBBS)
		}
	})
}

// TestLocketOpensDatabasesOfEveryBBSVersion: Locket's own schema opens a
// database the BBS migrated (to any version, as releases before Locket had
// its own schema did) and keeps its rows; a fresh database Locket made
// first still takes the BBS's migrations.
func TestLocketOpensDatabasesOfEveryBBSVersion(t *testing.T) {
	eachBackend(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		db, d := openRaw(t, driver, dsn)
		migrateTo(t, db, d, 1)
		if _, err := db.Exec(d.q("INSERT INTO locks (path, owner, value, type, modified_index, modified_id, ttl) VALUES (?, ?, ?, ?, ?, ?, ?)"),
			"bbs", "bbs-0", "", "lock", 7, "m7", 15); err != nil {
			t.Fatal(err)
		}
		locks := mustOpenLocks(t, driver, dsn)
		if l, err := locks.FetchLock(ctx, "bbs"); err != nil || l.Owner != "bbs-0" || l.ModifiedIndex != 7 {
			t.Fatalf("FetchLock(bbs) after Locket's migrations = %+v, %v; want the row written before", l, err)
		}
		if _, err := locks.AcquireLock(ctx, record.Lock{Key: "bbs", Owner: "bbs-1", Type: "lock", TTLSeconds: 15}); !errors.Is(err, record.ErrCollision) {
			t.Fatalf("AcquireLock by another owner: %v, want ErrCollision", err)
		}
		bbs := mustOpen(t, driver, dsn, storetest.NewRing(t, "k1")) // migrates the BBS on to its latest version
		if got := appliedList(t, bbs.w); len(got) != len(schema.Migrations) {
			t.Errorf("schema_migrations = %v, want %d versions", got, len(schema.Migrations))
		}
		if got := mustAcquire(t, locks, record.Lock{Key: "cell-1", Owner: "rep-1", Type: "presence", TTLSeconds: 15}); got.ModifiedIndex != 8 {
			t.Errorf("new lock's index = %d, want 8 (above the existing 7)", got.ModifiedIndex)
		}
	})
	eachBackend(t, func(t *testing.T, driver, dsn string) {
		locks := mustOpenLocks(t, driver, dsn)
		mustAcquire(t, locks, record.Lock{Key: "cell-1", Owner: "rep-1", Type: "presence", TTLSeconds: 15})
		bbs := mustOpen(t, driver, dsn, storetest.NewRing(t, "k1"))
		if ps, err := bbs.Presences(context.Background(), "presence"); err != nil || len(ps) != 1 || ps[0].Key != "cell-1" {
			t.Errorf("Presences after the BBS migrated a database Locket made = %+v, %v; want cell-1", ps, err)
		}
		if err := tableExists(bbs.w, "actual_lrps", "process_guid, payload"); err != nil {
			t.Errorf("BBS tables missing: %v", err)
		}
	})
}
