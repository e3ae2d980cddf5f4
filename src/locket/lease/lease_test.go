package lease

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/lockettest"
	"github.com/diego-go/diego/src/locket/sqllock"
)

// Short real durations: a success sent at s keeps the lease until s+700ms.
const (
	ttl    = time.Second
	margin = 300 * time.Millisecond
	retry  = 150 * time.Millisecond
	// slack is how late a timer may fire on a busy machine.
	slack = 150 * time.Millisecond
)

var testLogger = testutil.Logger

func newService(t *testing.T) (*locket.Service, *sqllock.Store) { return lockettest.New(t) }

// recorder collects Hold's callbacks.
type recorder struct {
	acquired chan time.Time
	lost     chan error
	lostAt   chan time.Time
}

func newRecorder() *recorder {
	return &recorder{acquired: make(chan time.Time, 10), lost: make(chan error, 10), lostAt: make(chan time.Time, 10)}
}

func (r *recorder) config(owner string) Config {
	return Config{
		Resource: &models.Resource{Key: "bbs", Owner: owner, TypeCode: models.LOCK},
		TTL:      ttl, SafetyMargin: margin, RetryInterval: retry, ReleaseTimeout: 300 * time.Millisecond,
		OnAcquired: func() { r.acquired <- time.Now() },
		OnLost:     func(err error) { r.lostAt <- time.Now(); r.lost <- err },
		Logger:     testLogger(),
	}
}

func (r *recorder) waitAcquired(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-r.acquired:
	case <-time.After(within):
		t.Fatal("lease not acquired in time")
	}
}

func (r *recorder) waitLost(t *testing.T, within time.Duration) (error, time.Time) {
	t.Helper()
	select {
	case err := <-r.lost:
		return err, <-r.lostAt
	case <-time.After(within):
		t.Fatal("lease not declared lost in time")
		return nil, time.Time{}
	}
}

// hold runs Hold in the background; stop cancels it and returns its result.
func hold(t *testing.T, c locket.Client, cfg Config) (stop func() error, done <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- Hold(ctx, c, cfg) }()
	t.Cleanup(cancel)
	return func() error {
		cancel()
		select {
		case err := <-ch:
			return err
		case <-time.After(2 * time.Second):
			t.Fatal("Hold did not return after cancel")
			return nil
		}
	}, ch
}

func TestHoldAcquiresRefreshesAndReleases(t *testing.T) {
	t.Parallel()
	svc, st := newService(t)
	r := newRecorder()
	stop, _ := hold(t, svc.LocalClient(), r.config("bbs-0"))
	r.waitAcquired(t, time.Second)
	first, err := st.FetchLock(context.Background(), "bbs")
	if err != nil || first.Owner != "bbs-0" || first.TTLSeconds != 1 {
		t.Fatalf("lock after acquire = %+v, %v", first, err)
	}
	time.Sleep(3 * ttl / 2) // past the TTL: only refreshes keep it
	now, err := st.FetchLock(context.Background(), "bbs")
	if err != nil || now.ModifiedIndex < first.ModifiedIndex+5 || now.ModifiedID != first.ModifiedID {
		t.Fatalf("lock after 1.5s = %+v, %v; want the same row refreshed about every %s", now, err, retry)
	}
	select {
	case err := <-r.lost:
		t.Fatalf("lost while refreshing: %v", err)
	default:
	}
	if err := stop(); err != nil {
		t.Fatalf("Hold returned %v after cancel, want nil", err)
	}
	if err, _ := r.waitLost(t, 100*time.Millisecond); !errors.Is(err, context.Canceled) {
		t.Errorf("OnLost on cancel: %v, want context.Canceled", err)
	}
	if _, err := st.FetchLock(context.Background(), "bbs"); err == nil {
		t.Error("lock still held after Hold returned; want it released")
	}
}

func TestHoldWaitsForAFreeLock(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	c := svc.LocalClient()
	if _, err := c.Lock(context.Background(), &models.LockRequest{Resource: &models.Resource{Key: "bbs", Owner: "other", TypeCode: models.LOCK}, TtlInSeconds: 10}); err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	hold(t, c, r.config("bbs-0"))
	select {
	case <-r.acquired:
		t.Fatal("acquired a lock another owner holds")
	case <-time.After(4 * retry):
	}
	if _, err := c.Release(context.Background(), &models.ReleaseRequest{Resource: &models.Resource{Key: "bbs", Owner: "other"}}); err != nil {
		t.Fatal(err)
	}
	r.waitAcquired(t, retry+slack)
}

// takeOver simulates the lock expiring and another owner taking it.
func takeOver(t *testing.T, svc *locket.Service, st *sqllock.Store, from, to string) {
	t.Helper()
	if err := st.ReleaseLock(context.Background(), "bbs", from); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.LocalClient().Lock(context.Background(), &models.LockRequest{Resource: &models.Resource{Key: "bbs", Owner: to, TypeCode: models.LOCK}, TtlInSeconds: 10}); err != nil {
		t.Fatal(err)
	}
}

func TestHoldLostOnCollision(t *testing.T) {
	t.Parallel()
	t.Run("keeps trying", func(t *testing.T) {
		t.Parallel()
		svc, st := newService(t)
		r := newRecorder()
		hold(t, svc.LocalClient(), r.config("bbs-0"))
		r.waitAcquired(t, time.Second)
		takeOver(t, svc, st, "bbs-0", "bbs-1")
		if err, _ := r.waitLost(t, retry+slack); !errors.Is(err, ErrTaken) {
			t.Fatalf("OnLost(%v), want ErrTaken", err)
		}
		// When the other owner lets go, the lease is acquired again.
		if err := st.ReleaseLock(context.Background(), "bbs", "bbs-1"); err != nil {
			t.Fatal(err)
		}
		r.waitAcquired(t, retry+slack)
	})
	t.Run("stop on lost", func(t *testing.T) {
		t.Parallel()
		svc, st := newService(t)
		r := newRecorder()
		cfg := r.config("bbs-0")
		cfg.StopOnLost = true
		_, done := hold(t, svc.LocalClient(), cfg)
		r.waitAcquired(t, time.Second)
		takeOver(t, svc, st, "bbs-0", "bbs-1")
		select {
		case err := <-done:
			if !errors.Is(err, ErrLost) || !errors.Is(err, ErrTaken) {
				t.Fatalf("Hold returned %v, want ErrLost wrapping ErrTaken", err)
			}
		case <-time.After(retry + slack):
			t.Fatal("Hold did not return on collision")
		}
		if l, err := st.FetchLock(context.Background(), "bbs"); err != nil || l.Owner != "bbs-1" {
			t.Errorf("lock = %+v, %v; the new owner's lock must be left alone", l, err)
		}
	})
}

// flaky passes requests through until cut, then fails them at once
// (Unavailable) or, with hang, blocks them ignoring their context until the
// test ends. It records when the last successful Lock was sent.
type flaky struct {
	locket.Client
	hang    bool
	mu      sync.Mutex
	cut     bool
	lastOK  time.Time
	blocked chan struct{}
}

// unreachable is nil while f is not cut; once cut it fails every call
// (after hanging until the test ends, if hang).
func (f *flaky) unreachable() error {
	f.mu.Lock()
	cut := f.cut
	f.mu.Unlock()
	if !cut {
		return nil
	}
	if f.hang {
		<-f.blocked
	}
	return status.Error(codes.Unavailable, "unreachable")
}

func (f *flaky) Lock(ctx context.Context, req *models.LockRequest) (*models.LockResponse, error) {
	sent := time.Now()
	if err := f.unreachable(); err != nil {
		return nil, err
	}
	resp, err := f.Client.Lock(ctx, req)
	if err == nil {
		f.mu.Lock()
		if sent.After(f.lastOK) { // requests may overlap
			f.lastOK = sent
		}
		f.mu.Unlock()
	}
	return resp, err
}

func (f *flaky) Release(ctx context.Context, req *models.ReleaseRequest) (*models.ReleaseResponse, error) {
	if err := f.unreachable(); err != nil {
		return nil, err
	}
	return f.Client.Release(ctx, req)
}

func (f *flaky) cutOff() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = true
}

func (f *flaky) lastSuccess() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastOK
}

// TestHoldLostAfterTTLWhenUnreachable: with Locket unreachable (failing
// fast, or hanging and ignoring deadlines), the lease is declared lost by
// the last successful send + TTL - margin, and not at the first failure.
func TestHoldLostAfterTTLWhenUnreachable(t *testing.T) {
	t.Parallel()
	for _, hang := range []bool{false, true} {
		name := map[bool]string{false: "failing", true: "hanging"}[hang]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			svc, _ := newService(t)
			f := &flaky{Client: svc.LocalClient(), hang: hang, blocked: make(chan struct{})}
			t.Cleanup(func() { close(f.blocked) })
			r := newRecorder()
			stop, _ := hold(t, f, r.config("bbs-0"))
			r.waitAcquired(t, time.Second)
			time.Sleep(3 * retry)
			f.cutOff()
			err, lostAt := r.waitLost(t, ttl)
			lastOK := f.lastSuccess() // read after: a request in flight at the cut may still have succeeded
			if !errors.Is(err, ErrExpired) {
				t.Fatalf("OnLost(%v), want ErrExpired", err)
			}
			due := lastOK.Add(ttl - margin)
			if lostAt.After(due.Add(slack)) || lostAt.Before(due.Add(-slack)) {
				t.Errorf("lost %s after the last successful send; want %s (ttl - margin)", lostAt.Sub(lastOK), ttl-margin)
			}
			start := time.Now()
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 300*time.Millisecond+slack {
				t.Errorf("Hold took %s to return with Locket unreachable; the release must be bounded", took)
			}
		})
	}
}

// TestHoldOverGRPC: through a real mTLS connection, stopping the server
// loses the lease by the deadline.
func TestHoldOverGRPC(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	conn, stopServer := lockettest.ServeGRPC(t, svc)
	f := &flaky{Client: conn}
	r := newRecorder()
	hold(t, f, r.config("bbs-0"))
	r.waitAcquired(t, 2*time.Second)
	time.Sleep(2 * retry)
	stopServer()
	err, lostAt := r.waitLost(t, ttl)
	lastOK := f.lastSuccess()
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("OnLost(%v), want ErrExpired", err)
	}
	if due := lastOK.Add(ttl - margin); lostAt.After(due.Add(slack)) {
		t.Errorf("lost %s after the last successful send; want by %s", lostAt.Sub(lastOK), ttl-margin)
	}
}
