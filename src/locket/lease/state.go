package lease

import (
	"time"

	"code.cloudfoundry.org/locket/models"
	"google.golang.org/grpc/status"
)

// event is what a Lock answer or a deadline changed.
type event int

const (
	noChange event = iota
	acquired
	refreshed
	lost
)

// state is Hold's bookkeeping. It does no I/O and reads no clock: every
// decision takes the times involved, so the timing rules are tested with
// explicit instants.
//
// The rule that makes a lease safe: a Lock request sent at instant s can
// only make the server expire the lock at s+ttl or later (the server arms
// its timer after committing, which is after s). So once a request sent at
// s has succeeded, the lease is ours until s+ttl at the earliest, and we
// declare it lost at s+ttl-margin unless a later request succeeds first.
type state struct {
	ttl, margin, retry, errRetry time.Duration
	acquire                      time.Duration // between attempts while not held

	held     bool
	deadline time.Time // while held: the instant the lease is declared lost
	// mayHold: the server may hold a row for us (the last answer was a
	// success or unknown), so it is worth releasing on the way out.
	mayHold bool
}

func newState(cfg Config) *state {
	if cfg.AcquireInterval == 0 {
		cfg.AcquireInterval = cfg.RetryInterval
	}
	return &state{ttl: cfg.TTL, margin: cfg.SafetyMargin, retry: cfg.RetryInterval, errRetry: min(cfg.RetryInterval, time.Second),
		acquire: cfg.AcquireInterval}
}

// validFor is how long after it was sent a successful request keeps the
// lease.
func (s *state) validFor() time.Duration { return s.ttl - s.margin }

// attemptDeadline is when to give up on a request sent at sent: while held,
// at the lost deadline (an answer after it cannot save the lease); else when
// a success would already be too old to count.
func (s *state) attemptDeadline(sent time.Time) time.Time {
	if s.held {
		return s.deadline
	}
	return sent.Add(s.validFor())
}

// result applies the answer (err) to a Lock request sent at sent and
// received at now. It returns what changed, the cause of a loss, and when
// to send the next request.
func (s *state) result(sent, now time.Time, err error) (ev event, cause error, next time.Time) {
	switch {
	case err == nil:
		s.mayHold = true
		until := sent.Add(s.validFor())
		if !now.Before(until) {
			// Answered too late to prove anything; the deadline decides.
			return noChange, nil, now.Add(s.errRetry)
		}
		ev = refreshed
		if !s.held {
			ev = acquired
		}
		s.held, s.deadline = true, until
		return ev, nil, sent.Add(s.retry)
	case isCollision(err):
		s.mayHold = false
		next = later(sent.Add(s.acquire), now)
		if s.held {
			s.held = false
			return lost, ErrTaken, next
		}
		return noChange, nil, next
	default:
		// Unknown outcome: the request may have been applied.
		s.mayHold = true
		if s.held {
			// Retry sooner than usual while the deadline approaches.
			next = sent.Add(s.retry)
			if soon := now.Add(s.errRetry); soon.Before(next) {
				next = soon
			}
			return noChange, nil, later(next, now)
		}
		return noChange, nil, later(sent.Add(s.acquire), now)
	}
}

// expire declares the lease lost if it is held and now has reached the
// deadline.
func (s *state) expire(now time.Time) bool {
	if !s.held || now.Before(s.deadline) {
		return false
	}
	s.held = false
	return true
}

func isCollision(err error) bool {
	return status.Code(err) == status.Code(models.ErrLockCollision)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
