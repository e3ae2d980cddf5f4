package locket_test

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/internal/faultproxy"
	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/lease"
	"github.com/diego-go/diego/src/locket/record"
	"github.com/diego-go/diego/src/locket/sqllock"
)

// gate blocks a holder's calls while closed, as a holder that has not yet
// come back after an outage (its retry not due yet) would be.
type gate struct {
	locket.Client
	mu   sync.Mutex
	open chan struct{}
}

func newGate(c locket.Client) *gate {
	g := &gate{Client: c, open: make(chan struct{})}
	close(g.open)
	return g
}

func (g *gate) wait(ctx context.Context) error {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

func (g *gate) reopen() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.open)
}

func (g *gate) Lock(ctx context.Context, req *models.LockRequest) (*models.LockResponse, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.Client.Lock(ctx, req)
}

// TestDatabaseOutageExpiresNothing: two Locket servers on one PostgreSQL
// database, reached through a proxy the test cuts for twice the TTL. When
// the database is back, the holders (which take a while to come back, as
// holders between retries do) still find their presences and lock: nothing
// was expired for refreshes Locket could not have stored, no Fetch or
// FetchAll after the recovery misses them, and a contender that kept
// trying throughout did not get the lock.
func TestDatabaseOutageExpiresNothing(t *testing.T) {
	t.Parallel()
	const ttl = 4 * time.Second
	dsn, err := url.Parse(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.New(dsn.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	dsn.Host = proxy.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var servers []*locket.Service
	var stores []*sqllock.Store
	for range 2 {
		st, err := sqllock.Open(ctx, sqldb.Config{Driver: sqldb.DriverPostgres, DSN: dsn.String()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		svc, err := locket.New(ctx, locket.Config{Store: st, Logger: testutil.Logger(), ScanInterval: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		servers, stores = append(servers, svc), append(stores, st)
	}

	// The holders: two presences through the first server, the lock through
	// the second; all behind one gate.
	var acquisitions atomic.Int64
	holders := newGate(servers[0].LocalClient())
	lockHolder := newGate(servers[1].LocalClient())
	hold := func(c locket.Client, r *models.Resource) {
		go lease.Hold(ctx, c, lease.Config{Resource: r, TTL: ttl, RetryInterval: time.Second, AcquireInterval: 200 * time.Millisecond,
			Logger: testutil.Logger(), OnAcquired: func() { acquisitions.Add(1) }})
	}
	keys := []string{"cell-1", "cell-2"}
	for _, k := range keys {
		hold(holders, &models.Resource{Key: k, Owner: k, Value: `{"cell_id":"` + k + `"}`, TypeCode: models.PRESENCE})
	}
	hold(lockHolder, &models.Resource{Key: "bbs", Owner: "bbs-0", TypeCode: models.LOCK})
	testutil.WaitFor(t, 30*time.Second, "the presences and the lock held", func() bool { return acquisitions.Load() == 3 })
	// A contender for the lock, through the first server, never gated.
	var contenderWon atomic.Bool
	go lease.Hold(ctx, servers[0].LocalClient(), lease.Config{Resource: &models.Resource{Key: "bbs", Owner: "bbs-1", TypeCode: models.LOCK},
		TTL: ttl, RetryInterval: time.Second, AcquireInterval: 200 * time.Millisecond, Logger: testutil.Logger(),
		OnAcquired: func() { contenderWon.Store(true) }})

	before := map[string]record.Lock{}
	for _, k := range append(keys, "bbs") {
		l, err := stores[0].FetchLock(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		before[k] = l
	}

	// The outage: twice the TTL, the holders cut off too.
	holders.close()
	lockHolder.close()
	proxy.Cut(faultproxy.Refuse)
	time.Sleep(2 * ttl)
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	// The database answers again (as seen from here, through the second
	// server's store, which the holders do not use)...
	testutil.WaitFor(t, 30*time.Second, "the database back", func() bool {
		_, err := stores[1].FetchLock(ctx, "bbs")
		return err == nil
	})
	// ...and the holders come back half a TTL later. Meanwhile every
	// answer of either server lists both presences and the lock's owner.
	reopen := time.Now().Add(ttl / 2)
	var checks int
	for time.Now().Before(reopen) {
		for i, svc := range servers {
			c := svc.LocalClient()
			if all, err := c.FetchAll(ctx, &models.FetchAllRequest{TypeCode: models.PRESENCE}); err == nil {
				checks++
				if len(all.Resources) != len(keys) {
					t.Fatalf("server %d listed presences %v after the database came back; want both", i, all.Resources)
				}
			}
			if l, err := c.Fetch(ctx, &models.FetchRequest{Key: "bbs"}); err == nil && l.Resource.Owner != "bbs-0" {
				t.Fatalf("server %d: the lock is held by %q after the outage; want bbs-0", i, l.Resource.Owner)
			} else if err != nil && err.Error() == models.ErrResourceNotFound.Error() {
				t.Fatalf("server %d: the lock is gone after the outage", i)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	holders.reopen()
	lockHolder.reopen()
	if checks == 0 {
		t.Fatal("no FetchAll succeeded after the database came back")
	}
	// Once the holders have refreshed, the rows are those from before the
	// outage (refreshed, never expired and re-created).
	testutil.Eventually(t, 30*time.Second, "the holders refreshed their rows", func() (bool, string) {
		for k, b := range before {
			l, err := stores[0].FetchLock(ctx, k)
			if err != nil {
				return false, k + ": " + err.Error()
			}
			if l.ModifiedID != b.ModifiedID || l.Owner != b.Owner {
				t.Fatalf("%s after the outage = %+v; before %+v: it was expired and taken again", k, l, b)
			}
			if l.ModifiedIndex <= b.ModifiedIndex {
				return false, k + " not refreshed yet"
			}
		}
		return true, ""
	})
	if contenderWon.Load() {
		t.Fatal("the contender acquired the lock around the outage")
	}
}
