package sqllock

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket/record"
)

func mustOpenLocks(t testing.TB, driver, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), sqldb.Config{Driver: driver, DSN: dsn}, testutil.Logger())
	if err != nil {
		t.Fatalf("Open(%s): %v", driver, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustAcquire(t *testing.T, s *Store, l record.Lock) record.Lock {
	t.Helper()
	got, err := s.AcquireLock(context.Background(), l)
	if err != nil {
		t.Fatalf("AcquireLock(%+v): %v", l, err)
	}
	return got
}

var guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestLockLifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		s := mustOpenLocks(t, driver, dsn)

		first := mustAcquire(t, s, record.Lock{Key: "bbs", Owner: "bbs-0", Value: "v0", Type: "lock", TTLSeconds: 15})
		if first.ModifiedIndex < 1 || !guidPattern.MatchString(first.ModifiedID) {
			t.Fatalf("new lock = %+v, want index >= 1 and a v4 guid", first)
		}
		if got, err := s.FetchLock(ctx, "bbs"); err != nil || got != first {
			t.Fatalf("FetchLock = %+v, %v; want %+v", got, err, first)
		}

		refreshed := mustAcquire(t, s, record.Lock{Key: "bbs", Owner: "bbs-0", Value: "v1", Type: "lock", TTLSeconds: 5})
		want := record.Lock{Key: "bbs", Owner: "bbs-0", Value: "v1", Type: "lock", TTLSeconds: 5,
			ModifiedIndex: first.ModifiedIndex + 1, ModifiedID: first.ModifiedID}
		if refreshed != want {
			t.Fatalf("refresh = %+v, want %+v", refreshed, want)
		}

		if _, err := s.AcquireLock(ctx, record.Lock{Key: "bbs", Owner: "bbs-1", Type: "lock", TTLSeconds: 15}); !errors.Is(err, record.ErrCollision) {
			t.Fatalf("AcquireLock by another owner: %v, want record.ErrCollision", err)
		}
		if err := s.ReleaseLock(ctx, "bbs", "bbs-1"); !errors.Is(err, record.ErrCollision) {
			t.Fatalf("ReleaseLock by another owner: %v, want record.ErrCollision", err)
		}
		if got, _ := s.FetchLock(ctx, "bbs"); got != refreshed {
			t.Fatalf("after refused writes the lock is %+v, want %+v", got, refreshed)
		}
		if err := s.ReleaseLock(ctx, "missing", "bbs-0"); !errors.Is(err, record.ErrNotFound) {
			t.Fatalf("ReleaseLock of a missing lock: %v, want ErrNotFound", err)
		}

		if err := s.ReleaseLock(ctx, "bbs", "bbs-0"); err != nil {
			t.Fatalf("ReleaseLock: %v", err)
		}
		if _, err := s.FetchLock(ctx, "bbs"); !errors.Is(err, record.ErrNotFound) {
			t.Fatalf("FetchLock after release: %v, want ErrNotFound", err)
		}
		again := mustAcquire(t, s, record.Lock{Key: "bbs", Owner: "bbs-1", Type: "lock", TTLSeconds: 15})
		if again.ModifiedIndex <= refreshed.ModifiedIndex || again.ModifiedID == refreshed.ModifiedID {
			t.Fatalf("re-acquired after release = %+v; want index above %d and a new id", again, refreshed.ModifiedIndex)
		}
	})
}

func TestAcquireLockValidates(t *testing.T) {
	s := mustOpenLocks(t, sqldb.DriverSQLite, testdb.SQLite(t))
	for _, tc := range []struct {
		lock record.Lock
		want string
	}{
		{record.Lock{Owner: "o", TTLSeconds: 1}, "key is empty"},
		{record.Lock{Key: "k", TTLSeconds: 1}, "owner is empty"},
		{record.Lock{Key: "k", Owner: "o"}, "ttl is 0"},
		{record.Lock{Key: "k", Owner: "o", TTLSeconds: 1, Value: strings.Repeat("é", 4097)}, "value is 4097 characters"},
		{record.Lock{Key: strings.Repeat("k", 256), Owner: "o", TTLSeconds: 1}, "key is 256 characters"},
	} {
		_, err := s.AcquireLock(context.Background(), tc.lock)
		if !errors.Is(err, record.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AcquireLock(%.40v) = %v; want record.ErrInvalid mentioning %q", tc.lock, err, tc.want)
		}
	}
	// The limits are characters, as in the VARCHAR columns.
	mustAcquire(t, s, record.Lock{Key: "k", Owner: "o", TTLSeconds: 1, Value: strings.Repeat("é", 4096)})
}

// TestExpireLockComparesAndDeletes: only the exact version expires, and
// indexes keep growing after an expiry so old versions never match again.
func TestExpireLockComparesAndDeletes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		s := mustOpenLocks(t, driver, dsn)
		old := mustAcquire(t, s, record.Lock{Key: "cell-1", Owner: "rep-1", Type: "presence", TTLSeconds: 2})
		cur := mustAcquire(t, s, record.Lock{Key: "cell-1", Owner: "rep-1", Type: "presence", TTLSeconds: 2})

		for _, tc := range []struct {
			index int64
			id    string
		}{{old.ModifiedIndex, old.ModifiedID}, {cur.ModifiedIndex, "another-id"}, {cur.ModifiedIndex + 1, cur.ModifiedID}} {
			if ok, err := s.ExpireLock(ctx, "cell-1", tc.index, tc.id); ok || err != nil {
				t.Fatalf("ExpireLock(%d, %s) of a changed lock = %v, %v; want false, nil", tc.index, tc.id, ok, err)
			}
		}
		if ok, err := s.ExpireLock(ctx, "cell-1", cur.ModifiedIndex, cur.ModifiedID); !ok || err != nil {
			t.Fatalf("ExpireLock of the current version = %v, %v; want true", ok, err)
		}
		if ok, err := s.ExpireLock(ctx, "cell-1", cur.ModifiedIndex, cur.ModifiedID); ok || err != nil {
			t.Fatalf("second ExpireLock = %v, %v; want false, nil", ok, err)
		}

		// Another owner takes the key: its index is above every earlier one,
		// the old version cannot expire it and the old owner cannot refresh it.
		taken := mustAcquire(t, s, record.Lock{Key: "cell-1", Owner: "rep-2", Type: "presence", TTLSeconds: 2})
		if taken.ModifiedIndex <= cur.ModifiedIndex || taken.ModifiedID == cur.ModifiedID {
			t.Fatalf("lock after expiry = %+v; want index above %d and a new id", taken, cur.ModifiedIndex)
		}
		if ok, _ := s.ExpireLock(ctx, "cell-1", cur.ModifiedIndex, cur.ModifiedID); ok {
			t.Fatal("an old version expired the new lock")
		}
		if _, err := s.AcquireLock(ctx, record.Lock{Key: "cell-1", Owner: "rep-1", Type: "presence", TTLSeconds: 2}); !errors.Is(err, record.ErrCollision) {
			t.Fatalf("expired owner refreshing: %v, want record.ErrCollision", err)
		}

		// Monotonic even when the new row's index would otherwise restart low:
		// refresh one key many times, expire it, re-create it.
		var last record.Lock
		for range 5 {
			last = mustAcquire(t, s, record.Lock{Key: "auctioneer", Owner: "a-0", Type: "lock", TTLSeconds: 2})
		}
		if ok, err := s.ExpireLock(ctx, "auctioneer", last.ModifiedIndex, last.ModifiedID); !ok || err != nil {
			t.Fatalf("ExpireLock(auctioneer) = %v, %v", ok, err)
		}
		next := mustAcquire(t, s, record.Lock{Key: "auctioneer", Owner: "a-1", Type: "lock", TTLSeconds: 2})
		if next.ModifiedIndex <= last.ModifiedIndex {
			t.Fatalf("index after expire and re-acquire = %d, want above %d", next.ModifiedIndex, last.ModifiedIndex)
		}
	})
}

func TestFetchLocksAndCount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		s := mustOpenLocks(t, driver, dsn)
		for _, l := range []record.Lock{
			{Key: "cell-2", Owner: "rep-2", Value: `{"cell_id":"cell-2"}`, Type: "presence", TTLSeconds: 15},
			{Key: "bbs", Owner: "bbs-0", Type: "lock", TTLSeconds: 15},
			{Key: "cell-1", Owner: "rep-1", Value: `{"cell_id":"cell-1"}`, Type: "presence", TTLSeconds: 15},
		} {
			mustAcquire(t, s, l)
		}
		keys := func(ls []record.Lock) string {
			var out []string
			for _, l := range ls {
				out = append(out, l.Key)
			}
			return strings.Join(out, ",")
		}
		for typ, want := range map[string]string{"presence": "cell-1,cell-2", "lock": "bbs", "": "bbs,cell-1,cell-2", "other": ""} {
			got, err := s.FetchLocks(ctx, typ)
			if err != nil || keys(got) != want {
				t.Errorf("FetchLocks(%q) = %s, %v; want %s", typ, keys(got), err, want)
			}
		}
		counts, err := s.CountLocks(ctx)
		if err != nil || len(counts) != 2 || counts["presence"] != 2 || counts["lock"] != 1 {
			t.Errorf("CountLocks = %v, %v; want presence 2, lock 1", counts, err)
		}
	})
}

// TestConcurrentAcquirers races owners for free keys from two pools (as two
// Locket processes would), on a fresh database so the index floor row is
// created under the race too: exactly one owner wins each key, the others
// see record.ErrCollision and nothing else.
func TestConcurrentAcquirers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		pools := []*Store{mustOpenLocks(t, driver, dsn), mustOpenLocks(t, driver, dsn)}
		const keys, owners = 4, 6
		type result struct {
			key, owner string
			lock       record.Lock
			err        error
		}
		results := make(chan result, keys*owners)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for k := range keys {
			for o := range owners {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r := result{key: fmt.Sprintf("key-%d", k), owner: fmt.Sprintf("owner-%d", o)}
					r.lock, r.err = pools[o%2].AcquireLock(ctx, record.Lock{Key: r.key, Owner: r.owner, Type: "lock", TTLSeconds: 10})
					results <- r
				}()
			}
		}
		close(start)
		wg.Wait()
		close(results)
		winners := map[string]string{}
		indexes := map[int64]string{}
		for r := range results {
			switch {
			case r.err == nil:
				if w, ok := winners[r.key]; ok {
					t.Errorf("%s won by both %s and %s", r.key, w, r.owner)
				}
				winners[r.key] = r.owner
				if k, ok := indexes[r.lock.ModifiedIndex]; ok {
					t.Errorf("new locks %s and %s share index %d", k, r.key, r.lock.ModifiedIndex)
				}
				indexes[r.lock.ModifiedIndex] = r.key
			case !errors.Is(r.err, record.ErrCollision):
				t.Errorf("%s by %s: %v, want success or record.ErrCollision", r.key, r.owner, r.err)
			}
		}
		if len(winners) != keys {
			t.Fatalf("winners = %v, want one for each of %d keys", winners, keys)
		}
		for key, owner := range winners {
			if got, err := pools[0].FetchLock(ctx, key); err != nil || got.Owner != owner {
				t.Errorf("FetchLock(%s) = %+v, %v; want owner %s", key, got, err, owner)
			}
		}
	})
}
