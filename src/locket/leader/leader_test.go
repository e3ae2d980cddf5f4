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

func holder(t *testing.T, svc *locket.Service) string {
	t.Helper()
	resp, err := svc.LocalClient().Fetch(context.Background(), &models.FetchRequest{Key: "leader"})
	if err != nil {
		return ""
	}
	return resp.Resource.Owner
}

// TestOneLeadsAndTheStandbyTakesOver: of two contenders one leads while
// the other stands by; when the leader stops it releases the lock and the
// standby leads promptly.
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
	if got := holder(t, svc); got != "a" {
		t.Fatalf("lock holder = %q, want a", got)
	}

	first.cancel()
	if err := first.waitDone(t); err != nil {
		t.Fatalf("Run after its context ended = %v, want nil", err)
	}
	second.waitLeading(t)
	if got := holder(t, svc); got != "b" {
		t.Errorf("lock holder after the take-over = %q, want b", got)
	}
	second.cancel()
	if err := second.waitDone(t); err != nil {
		t.Fatalf("second Run = %v, want nil", err)
	}
	if got := holder(t, svc); got != "" {
		t.Errorf("lock held by %q after both stopped, want released", got)
	}
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
	err := c.waitDone(t)
	if !errors.Is(err, leader.ErrLost) || !errors.Is(err, lease.ErrTaken) {
		t.Fatalf("Run after the lock was taken = %v, want ErrLost wrapping lease.ErrTaken", err)
	}
	if got := holder(t, svc); got != "thief" {
		t.Errorf("lock holder = %q, want the thief's lock left alone", got)
	}
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
	if got := holder(t, svc); got != "" {
		t.Errorf("lock held by %q after lead failed, want released", got)
	}
}

// TestStoppedWhileStandingBy: ending the context of a standby returns nil
// without ever calling lead.
func TestStoppedWhileStandingBy(t *testing.T) {
	t.Parallel()
	svc, _ := lockettest.New(t)
	first := contend(svc.LocalClient(), "a", nil)
	first.waitLeading(t)
	second := contend(svc.LocalClient(), "b", nil)
	second.cancel()
	if err := second.waitDone(t); err != nil {
		t.Fatalf("standby's Run = %v, want nil", err)
	}
	select {
	case <-second.leading:
		t.Fatal("a cancelled standby led")
	default:
	}
	first.cancel()
	first.waitDone(t)
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
