package lease

import (
	"errors"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func newTestState() *state {
	// TTL 15s, margin 3s: a success sent at s keeps the lease until s+12s.
	return newState(Config{TTL: 15 * time.Second, SafetyMargin: 3 * time.Second, RetryInterval: 5 * time.Second})
}

var unavailable = status.Error(codes.Unavailable, "connection refused")

func TestStateAcquireRefreshAndDeadline(t *testing.T) {
	s := newTestState()
	if got := s.send(at(0)); !got.Equal(at(12 * time.Second)) {
		t.Errorf("a request sent at 0 is given up at %s, want sent+12s", got.Sub(t0))
	}
	// Sent at 0, answered at 0.2s: held until 12s (counted from the send, not the answer).
	ev, _, next := result(s, at(0), at(200*time.Millisecond), nil)
	if ev != acquired || !s.held || !s.deadline.Equal(at(12*time.Second)) || !next.Equal(at(5*time.Second)) {
		t.Fatalf("first success: ev %v held %v deadline %s next %s; want acquired, deadline 12s, next 5s", ev, s.held, s.deadline.Sub(t0), next.Sub(t0))
	}
	if got := s.send(at(5 * time.Second)); !got.Equal(at(17 * time.Second)) {
		t.Errorf("a refresh sent at 5s is given up at %s, want 17s (its own validity, not the lease's current deadline)", got.Sub(t0))
	}
	ev, _, next = result(s, at(5*time.Second), at(5100*time.Millisecond), nil)
	if ev != refreshed || !s.deadline.Equal(at(17*time.Second)) || !next.Equal(at(10*time.Second)) {
		t.Fatalf("refresh: ev %v deadline %s next %s; want refreshed, 17s, 10s", ev, s.deadline.Sub(t0), next.Sub(t0))
	}
	// Failures do not move the deadline and are retried within a second.
	ev, _, next = result(s, at(10*time.Second), at(10100*time.Millisecond), unavailable)
	if ev != noChange || !s.held || !s.deadline.Equal(at(17*time.Second)) || !next.Equal(at(11100*time.Millisecond)) {
		t.Fatalf("failed refresh: ev %v held %v deadline %s next %s; want no change, 17s, retry at 11.1s", ev, s.held, s.deadline.Sub(t0), next.Sub(t0))
	}
	if s.expire(at(17*time.Second - time.Nanosecond)) {
		t.Fatal("lost before the deadline")
	}
	if !s.expire(at(17*time.Second)) || s.held {
		t.Fatal("not lost at the deadline")
	}
	if s.expire(at(18 * time.Second)) {
		t.Fatal("lost twice")
	}
	if !s.mayHold {
		t.Error("after an unknown outcome the lease may still be held server-side; want a release on exit")
	}
}

func TestStateCollision(t *testing.T) {
	s := newTestState()
	ev, _, next := result(s, at(0), at(time.Millisecond), models.ErrLockCollision)
	if ev != noChange || s.held || s.mayHold || !next.Equal(at(5*time.Second)) {
		t.Fatalf("collision while not held: ev %v held %v mayHold %v next %s", ev, s.held, s.mayHold, next.Sub(t0))
	}
	result(s, at(5*time.Second), at(5*time.Second), nil)
	ev, cause, _ := result(s, at(10*time.Second), at(10*time.Second), models.ErrLockCollision)
	if ev != lost || !errors.Is(cause, ErrTaken) || s.held || s.mayHold {
		t.Fatalf("collision while held: ev %v cause %v held %v mayHold %v; want lost at once with ErrTaken", ev, cause, s.held, s.mayHold)
	}
	if s.expire(at(time.Hour)) {
		t.Error("a lost lease expired again")
	}
}

func TestStateLateSuccessDoesNotCount(t *testing.T) {
	s := newTestState()
	ev, _, next := result(s, at(0), at(12*time.Second), nil)
	if ev != noChange || s.held || !next.Equal(at(13*time.Second)) {
		t.Fatalf("success answered at sent+ttl-margin: ev %v held %v next %s; want not acquired, retry in 1s", ev, s.held, next.Sub(t0))
	}
	result(s, at(20*time.Second), at(20*time.Second), nil) // held until 32s
	ev, _, _ = result(s, at(25*time.Second), at(40*time.Second), nil)
	if ev != noChange || !s.deadline.Equal(at(32*time.Second)) {
		t.Fatalf("late refresh: ev %v deadline %s; want the deadline kept at 32s", ev, s.deadline.Sub(t0))
	}
}

// result is state.result with the next send time (all requests answered).
func result(s *state, sent, now time.Time, err error) (event, error, time.Time) {
	s.inFlight = max(s.inFlight, 1)
	ev, cause := s.result(sent, now, err)
	at, _ := s.sendAt()
	return ev, cause, at
}

// TestStateHedging: an unanswered request is joined by another after the
// attempt timeout, up to maxInFlight, and a success of any of them counts
// from its own send time.
func TestStateHedging(t *testing.T) {
	s := newTestState() // valid 12s: attempt timeout 3s
	result(s, at(0), at(100*time.Millisecond), nil)
	if at5, ok := s.sendAt(); !ok || !at5.Equal(at(5*time.Second)) {
		t.Fatalf("next refresh at %s, want 5s", at5.Sub(t0))
	}
	s.send(at(5 * time.Second)) // hangs
	if next, ok := s.sendAt(); !ok || !next.Equal(at(8*time.Second)) {
		t.Fatalf("with one request unanswered, the next goes at %s; want 8s (after the 3s attempt timeout)", next.Sub(t0))
	}
	s.send(at(8 * time.Second))  // hangs too
	s.send(at(11 * time.Second)) // the third
	if _, ok := s.sendAt(); ok {
		t.Fatal("a fourth request while three are unanswered")
	}
	// The third answers first: held until 23s, though the first two still hang.
	if ev, _ := s.result(at(11*time.Second), at(11500*time.Millisecond), nil); ev != refreshed || !s.deadline.Equal(at(23*time.Second)) {
		t.Fatalf("ev %v deadline %s; want refreshed until 23s", ev, s.deadline.Sub(t0))
	}
	if next, ok := s.sendAt(); !ok || !next.Equal(at(16*time.Second)) {
		t.Fatalf("next at %s, want 16s (retry after the last success)", next.Sub(t0))
	}
	// An older request answering later does not shorten the lease.
	s.result(at(5*time.Second), at(12*time.Second), nil)
	if !s.deadline.Equal(at(23 * time.Second)) {
		t.Fatalf("deadline %s after an older success; want 23s kept", s.deadline.Sub(t0))
	}
}

func TestConfigValidate(t *testing.T) {
	res := &models.Resource{Key: "bbs", Owner: "bbs-0", TypeCode: models.LOCK}
	ok := Config{Resource: res}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c := ok.withDefaults(); c.TTL != 15*time.Second || c.RetryInterval != 5*time.Second || c.SafetyMargin != 3*time.Second {
		t.Errorf("defaults = ttl %s retry %s margin %s", c.TTL, c.RetryInterval, c.SafetyMargin)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no resource", Config{}},
		{"no owner", Config{Resource: &models.Resource{Key: "k", TypeCode: models.LOCK}}},
		{"no type", Config{Resource: &models.Resource{Key: "k", Owner: "o"}}},
		{"fractional ttl", Config{Resource: res, TTL: 1500 * time.Millisecond}},
		{"margin above ttl", Config{Resource: res, TTL: time.Second, SafetyMargin: 2 * time.Second}},
		{"retry beyond the deadline", Config{Resource: res, TTL: 15 * time.Second, RetryInterval: 12 * time.Second}},
		{"negative attempt timeout", Config{Resource: res, AttemptTimeout: -time.Second}},
	} {
		if err := tc.cfg.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", tc.name, tc.cfg)
		}
	}
	if err := (Config{Resource: &models.Resource{Key: "cell", Owner: "cell", Type: "presence"}}).Validate(); err != nil {
		t.Errorf("deprecated Type: %v", err)
	}
}

func TestAcquireIntervalWhileNotHeld(t *testing.T) {
	s := newState(Config{TTL: 15 * time.Second, SafetyMargin: 3 * time.Second, RetryInterval: 5 * time.Second, AcquireInterval: time.Second})
	t0 := time.Unix(1000, 0)
	if _, _, next := result(s, t0, t0.Add(10*time.Millisecond), models.ErrLockCollision); !next.Equal(t0.Add(time.Second)) {
		t.Fatalf("standby retries at %v, want after 1s", next.Sub(t0))
	}
	ev, _, next := result(s, t0, t0.Add(10*time.Millisecond), nil)
	if ev != acquired || !next.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("held: refresh at %v (ev %v), want after 5s", next.Sub(t0), ev)
	}
}
