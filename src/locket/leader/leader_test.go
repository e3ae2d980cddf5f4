package leader_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/leader"
	"github.com/diego-go/diego/src/locket/lease"
	"github.com/diego-go/diego/src/locket/lockettest"
	"github.com/diego-go/diego/src/locket/record"
)

// wait is a generous bound for anything that should happen within a few
// retry intervals.
const wait = 10 * time.Second

func config(owner string) leader.Config {
	return leader.Config{Key: "leader", Owner: owner, TTL: time.Second, RetryInterval: 150 * time.Millisecond, Logger: testutil.Logger()}
}

// contender runs leader.Run in the background: leading receives lead's
// context each time lead is called, done Run's result.
type contender struct {
	cancel  context.CancelFunc
	leading chan context.Context
	done    chan error
}

func contend(client locket.Client, owner string, lead func(ctx context.Context) error) *contender {
	ctx, cancel := context.WithCancel(context.Background())
	c := &contender{cancel: cancel, leading: make(chan context.Context, 1), done: make(chan error, 1)}
	go func() {
		c.done <- leader.Run(ctx, client, config(owner), func(ctx context.Context) error {
			c.leading <- ctx
			if lead != nil {
				return lead(ctx)
			}
			<-ctx.Done()
			return nil
		})
	}()
	return c
}

func (c *contender) waitLeading(t *testing.T) context.Context {
	t.Helper()
	select {
	case ctx := <-c.leading:
		return ctx
	case err := <-c.done:
		t.Fatalf("Run returned %v before leading", err)
	case <-time.After(wait):
		t.Fatal("never led")
	}
	return nil
}

func (c *contender) waitDone(t *testing.T) error {
	t.Helper()
	select {
	case err := <-c.done:
		return err
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
	return nil
}

// stop ends c's context and wants Run to return nil.
func (c *contender) stop(t *testing.T) {
	t.Helper()
	c.cancel()
	if err := c.waitDone(t); err != nil {
		t.Fatalf("Run after its context ended = %v, want nil", err)
	}
}

// wantHolder checks who holds the lock ("": nobody) at the moment named by when.
func wantHolder(t *testing.T, svc *locket.Service, want, when string) {
	t.Helper()
	got := ""
	if resp, err := svc.LocalClient().Fetch(context.Background(), &models.FetchRequest{Key: "leader"}); err == nil {
		got = resp.Resource.Owner
	}
	if got != want {
		t.Errorf("lock holder %s = %q, want %q", when, got, want)
	}
}

// TestOneLeadsAndTheStandbyTakesOver: of two contenders one leads while
// the other stands by; a standby stopped while waiting never leads; when the
// leader stops it releases the lock and the standby leads promptly.
func TestOneLeadsAndTheStandbyTakesOver(t *testing.T) {
	t.Parallel()
	svc, _ := lockettest.New(t)
	first := contend(svc.LocalClient(), "a", nil)
	first.waitLeading(t)
	second := contend(svc.LocalClient(), "b", nil)
	select {
	case <-second.leading:
		t.Fatal("the standby led while the lock was held")
	case <-time.After(600 * time.Millisecond):
	}
	wantHolder(t, svc, "a", "while a leads")

	// Ending a standby's context returns nil without ever calling lead.
	third := contend(svc.LocalClient(), "c", nil)
	third.stop(t)
	select {
	case <-third.leading:
		t.Fatal("a cancelled standby led")
	default:
	}

	first.stop(t)
	second.waitLeading(t)
	wantHolder(t, svc, "b", "after the take-over")
	second.stop(t)
	wantHolder(t, svc, "", "after both stopped")
}

// TestLosingTheLockEndsLeading: when another owner takes the lock, lead's
// context ends and Run reports the loss.
func TestLosingTheLockEndsLeading(t *testing.T) {
	t.Parallel()
	svc, st := lockettest.New(t)
	c := contend(svc.LocalClient(), "a", nil)
	leadCtx := c.waitLeading(t)
	if err := st.ReleaseLock(context.Background(), "leader", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcquireLock(context.Background(), record.Lock{Key: "leader", Owner: "thief", Type: record.TypeLock, TTLSeconds: 30}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-leadCtx.Done():
	case <-time.After(wait):
		t.Fatal("lead's context did not end when the lock was taken")
	}
	if cause := context.Cause(leadCtx); !errors.Is(cause, leader.ErrLost) {
		t.Errorf("cause of lead's context = %v, want ErrLost", cause)
	}
	err := c.waitDone(t)
	if !errors.Is(err, leader.ErrLost) || !errors.Is(err, lease.ErrTaken) {
		t.Fatalf("Run after the lock was taken = %v, want ErrLost wrapping lease.ErrTaken", err)
	}
	wantHolder(t, svc, "thief", "after the loss (the thief's lock is left alone)")
}

// TestLeadFailingReleasesTheLock: lead's error comes back from Run and the
// lock is released for the next contender.
func TestLeadFailingReleasesTheLock(t *testing.T) {
	t.Parallel()
	svc, _ := lockettest.New(t)
	boom := errors.New("boom")
	c := contend(svc.LocalClient(), "a", func(context.Context) error { return boom })
	c.waitLeading(t)
	if err := c.waitDone(t); !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want lead's error", err)
	}
	wantHolder(t, svc, "", "after lead failed")
}

func TestFlag(t *testing.T) {
	var f leader.Flag
	if f.IsLeading() {
		t.Fatal("zero Flag is leading")
	}
	ch := f.Leading()
	f.Set()
	f.Set()
	select {
	case <-ch:
	default:
		t.Fatal("Leading not closed after Set")
	}
	if !f.IsLeading() {
		t.Fatal("IsLeading false after Set")
	}
}
