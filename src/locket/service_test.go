package locket

import (
	"context"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"

	"github.com/diego-go/diego/src/locket/sqllock"
)

func TestServiceRequests(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, c Client, reg *prometheus.Registry) {
		ctx := context.Background()

		// Validation, with the reference's errors and order.
		for _, tc := range []struct {
			name string
			req  *models.LockRequest
			code codes.Code
			msg  string
		}{
			{"no resource", &models.LockRequest{TtlInSeconds: 1}, codes.InvalidArgument, "missing-resource"},
			{"no type", lockReq("k", "o", models.UNKNOWN, 1), codes.NotFound, "invalid-type"},
			{"unknown type code", lockReq("k", "o", models.TypeCode(7), 1), codes.NotFound, "invalid-type"},
			{"unknown type", &models.LockRequest{Resource: &models.Resource{Key: "k", Owner: "o", Type: "mutex"}, TtlInSeconds: 1}, codes.NotFound, "invalid-type"},
			{"zero ttl", lockReq("k", "o", models.LOCK, 0), codes.InvalidArgument, "invalid-ttl"},
			{"negative ttl", lockReq("k", "", models.LOCK, -1), codes.InvalidArgument, "invalid-ttl"},
			{"no owner", lockReq("k", "", models.LOCK, 1), codes.InvalidArgument, "invalid-owner"},
			{"no key", lockReq("", "o", models.LOCK, 1), codes.InvalidArgument, "invalid-key"},
		} {
			_, err := c.Lock(ctx, tc.req)
			wantCode(t, tc.name, err, tc.code, tc.msg)
		}
		long := lockReq("k", "o", models.PRESENCE, 1)
		long.Resource.Value = strings.Repeat("x", 5000)
		_, err := c.Lock(ctx, long)
		wantCode(t, "value too long", err, codes.InvalidArgument, "")

		// Acquire, collide, refresh.
		if _, err := c.Lock(ctx, &models.LockRequest{Resource: &models.Resource{Key: "bbs", Owner: "bbs-0", Value: "v", TypeCode: models.LOCK}, TtlInSeconds: 10}); err != nil {
			t.Fatalf("Lock: %v", err)
		}
		_, err = c.Lock(ctx, lockReq("bbs", "bbs-1", models.LOCK, 10))
		wantCode(t, "Lock by another owner", err, codes.AlreadyExists, "lock-collision")
		if _, err := c.Lock(ctx, lockReq("bbs", "bbs-0", models.LOCK, 10)); err != nil {
			t.Fatalf("refreshing Lock: %v", err)
		}
		got, err := c.Fetch(ctx, &models.FetchRequest{Key: "bbs"})
		want := &models.Resource{Key: "bbs", Owner: "bbs-0", Type: "lock", TypeCode: models.LOCK}
		if err != nil || !got.Resource.Equal(want) {
			t.Fatalf("Fetch = %v, %v; want %v (the refresh replaced the value)", got, err, want)
		}
		_, err = c.Fetch(ctx, &models.FetchRequest{Key: "nope"})
		wantCode(t, "Fetch of a missing lock", err, codes.NotFound, "resource-not-found")

		// The deprecated Type field alone still works.
		if _, err := c.Lock(ctx, &models.LockRequest{Resource: &models.Resource{Key: "cell-1", Owner: "cell-1", Value: `{"cell_id":"cell-1"}`, Type: "presence"}, TtlInSeconds: 10}); err != nil {
			t.Fatalf("Lock with Type only: %v", err)
		}
		if _, err := c.Lock(ctx, lockReq("cell-2", "cell-2", models.PRESENCE, 10)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			req  *models.FetchAllRequest
			want string
		}{
			{&models.FetchAllRequest{TypeCode: models.PRESENCE}, "cell-1,cell-2"},
			{&models.FetchAllRequest{Type: "presence"}, "cell-1,cell-2"},
			{&models.FetchAllRequest{TypeCode: models.LOCK}, "bbs"},
		} {
			resp, err := c.FetchAll(ctx, tc.req)
			if err != nil || keys(resp.Resources) != tc.want {
				t.Errorf("FetchAll(%v) = %v, %v; want %s", tc.req, resp, err, tc.want)
			}
			for _, r := range resp.GetResources() {
				if r.TypeCode != models.GetTypeCode(r.Type) || r.TypeCode == models.UNKNOWN {
					t.Errorf("FetchAll resource %v: type and type code disagree", r)
				}
			}
		}
		_, err = c.FetchAll(ctx, &models.FetchAllRequest{})
		wantCode(t, "FetchAll without a type", err, codes.NotFound, "invalid-type")

		// Release.
		_, err = c.Release(ctx, &models.ReleaseRequest{Resource: &models.Resource{Key: "bbs", Owner: "bbs-1"}})
		wantCode(t, "Release by another owner", err, codes.AlreadyExists, "lock-collision")
		if _, err := c.Release(ctx, &models.ReleaseRequest{Resource: &models.Resource{Key: "bbs", Owner: "bbs-0"}}); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if code := fetchCode(c, "bbs"); code != codes.NotFound {
			t.Fatalf("Fetch after release: %s, want NotFound", code)
		}
		if _, err := c.Release(ctx, &models.ReleaseRequest{Resource: &models.Resource{Key: "bbs", Owner: "bbs-0"}}); err != nil {
			t.Fatalf("Release of a missing lock: %v, want success as in the reference", err)
		}
		_, err = c.Release(ctx, &models.ReleaseRequest{})
		wantCode(t, "Release without a resource", err, codes.InvalidArgument, "missing-resource")

		m := gather(t, reg)
		for name, want := range map[string]float64{
			"locket_lock_collisions_total":                              1,
			"locket_active_locks":                                       0,
			"locket_active_presences":                                   2,
			`locket_requests_total{code="AlreadyExists",method="Lock"}`: 1,
			`locket_requests_total{code="OK",method="Release"}`:         2,
			`locket_expirations_total{type="presence"}`:                 0,
		} {
			if got, ok := m[name]; !ok || got != want {
				t.Errorf("metric %s = %v (present %v), want %v", name, got, ok, want)
			}
		}
	})
}

func keys(rs []*models.Resource) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Key)
	}
	return strings.Join(out, ",")
}

// gather flattens a registry into "name{label="value",...}" -> value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			if len(m.GetLabel()) > 0 {
				var ls []string
				for _, l := range m.GetLabel() {
					ls = append(ls, l.GetName()+`="`+l.GetValue()+`"`)
				}
				name += "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			}
		}
	}
	return out
}

// TestExpiry: a lock outlives its TTL only while refreshed, and once it has
// expired its old owner cannot take it back from a new one.
func TestExpiry(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, c Client, reg *prometheus.Registry) {
		ctx := context.Background()

		start := time.Now()
		for _, key := range []string{"cell-1", "bbs"} {
			if _, err := c.Lock(ctx, lockReq(key, key+"-owner", models.PRESENCE, 1)); err != nil {
				t.Fatal(err)
			}
		}
		// Refresh bbs for a while; cell-1 is left to expire.
		for time.Since(start) < 1500*time.Millisecond {
			if _, err := c.Lock(ctx, lockReq("bbs", "bbs-owner", models.PRESENCE, 1)); err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if time.Since(start) < 900*time.Millisecond && fetchCode(c, "cell-1") != codes.OK {
				t.Fatalf("cell-1 gone after %s, before its 1s TTL", time.Since(start))
			}
			time.Sleep(200 * time.Millisecond)
		}
		if code := fetchCode(c, "bbs"); code != codes.OK {
			t.Fatalf("refreshed lock: Fetch %s after %s, want it held", code, time.Since(start))
		}
		eventually(t, 2*time.Second, "cell-1 expires", func() bool { return fetchCode(c, "cell-1") == codes.NotFound })
		eventually(t, 2500*time.Millisecond, "bbs expires once no longer refreshed", func() bool { return fetchCode(c, "bbs") == codes.NotFound })

		if _, err := c.Lock(ctx, lockReq("cell-1", "someone-else", models.PRESENCE, 10)); err != nil {
			t.Fatalf("new owner after expiry: %v", err)
		}
		_, err := c.Lock(ctx, lockReq("cell-1", "cell-1-owner", models.PRESENCE, 1))
		wantCode(t, "expired owner refreshing", err, codes.AlreadyExists, "lock-collision")
		if m := gather(t, reg); m[`locket_expirations_total{type="presence"}`] != 2 {
			t.Errorf("presence expirations = %v, want 2", m[`locket_expirations_total{type="presence"}`])
		}
	})
}

// TestExpiryAfterRestart: locks found at start-up get their full TTL and
// then expire.
func TestExpiryAfterRestart(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, open func() *sqllock.Store) {
		st := open()
		first := newService(t, Config{Store: st})
		if _, err := first.LocalClient().Lock(context.Background(), lockReq("auctioneer", "a-0", models.LOCK, 1)); err != nil {
			t.Fatal(err)
		}
		first.Close()
		time.Sleep(1200 * time.Millisecond) // past the TTL with no Locket running
		second := newService(t, Config{Store: st})
		c := second.LocalClient()
		if code := fetchCode(c, "auctioneer"); code != codes.OK || second.Timers() != 1 {
			t.Fatalf("after restart: Fetch %s with %d timers; want the lock kept and one timer", code, second.Timers())
		}
		eventually(t, 2500*time.Millisecond, "lock expires after restart", func() bool { return fetchCode(c, "auctioneer") == codes.NotFound })
	})
}

// TestServersSharingADatabase: several Locket servers on one database never
// expire a lock refreshed through another, and a lock whose last server went
// away still expires.
func TestServersSharingADatabase(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, open func() *sqllock.Store) {
		ctx := context.Background()
		s1 := newService(t, Config{Store: open(), ScanInterval: 200 * time.Millisecond})
		s2 := newService(t, Config{Store: open()})
		s3 := newService(t, Config{Store: open()})
		c1, c2, c3 := s1.LocalClient(), s2.LocalClient(), s3.LocalClient()

		start := time.Now()
		mustLock := func(c Client, key string, ttl int64) {
			t.Helper()
			if _, err := c.Lock(ctx, lockReq(key, "owner", models.LOCK, ttl)); err != nil {
				t.Fatalf("Lock(%s): %v", key, err)
			}
		}
		mustLock(c1, "shared", 2)  // s1's timer: 2s
		mustLock(c1, "orphan", 1)  // s1's timer: 1s
		mustLock(c3, "scanned", 1) // only s3 ever sees this write...
		s3.Close()                 // ...and goes away: s1's scan must pick it up
		time.Sleep(300 * time.Millisecond)
		mustLock(c2, "orphan", 1) // refreshed through s2, which then goes away
		s2.Close()
		time.Sleep(700 * time.Millisecond)
		mustLock(c2, "shared", 2) // s2 is closed but its service still writes: no timer there

		// s1's 2s timer for "shared" fires before the row expires by TTL
		// from the refresh at ~1s: it must not delete it.
		time.Sleep(time.Until(start.Add(2500 * time.Millisecond)))
		if code := fetchCode(c1, "shared"); code != codes.OK {
			t.Fatalf("a lock refreshed through another server was removed at %s (%s)", time.Since(start), code)
		}
		for _, key := range []string{"shared", "orphan", "scanned"} {
			eventually(t, 3*time.Second, key+" expires", func() bool { return fetchCode(c1, key) == codes.NotFound })
		}
	})
}
