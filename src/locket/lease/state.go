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

// maxInFlight bounds the Lock requests outstanding at once: a request that
// has not answered within the attempt timeout keeps running (it may still
// succeed) while another is sent alongside it.
const maxInFlight = 3

// state is Hold's bookkeeping. It does no I/O and reads no clock: every
// decision takes the times involved, so the timing rules are tested with
// explicit instants.
//
// The rule that makes a lease safe: a Lock request sent at instant s can
// only make the server expire the lock at s+ttl or later (the server arms
// its timer after committing, which is after s). So once a request sent at
// s has succeeded, the lease is ours until s+ttl at the earliest, and we
// declare it lost at s+ttl-margin unless a later request succeeds first.
// That holds whatever other requests are outstanding, so several may be.
type state struct {
	ttl, margin, retry, errRetry time.Duration
	acquire                      time.Duration // between attempts while not held
	attempt                      time.Duration // before another request joins an unanswered one

	held     bool
	deadline time.Time // while held: the instant the lease is declared lost
	// mayHold: the server may hold a row for us (the last answer was a
	// success or unknown), so it is worth releasing on the way out.
	mayHold bool

	inFlight int       // requests sent and not answered
	lastSent time.Time // when the latest request was sent
	nextAt   time.Time // the earliest instant for the next request
}

func newState(cfg Config) *state {
	if cfg.AcquireInterval == 0 {
		cfg.AcquireInterval = cfg.RetryInterval
	}
	s := &state{ttl: cfg.TTL, margin: cfg.SafetyMargin, retry: cfg.RetryInterval, errRetry: min(cfg.RetryInterval, time.Second),
		acquire: cfg.AcquireInterval, attempt: cfg.AttemptTimeout}
	if s.attempt == 0 {
		s.attempt = defaultAttemptTimeout(s.validFor())
	}
	return s
}

// defaultAttemptTimeout leaves room for four attempts in a lease's validity.
func defaultAttemptTimeout(validFor time.Duration) time.Duration { return validFor / 4 }

// validFor is how long after it was sent a successful request keeps the
// lease.
func (s *state) validFor() time.Duration { return s.ttl - s.margin }

// sendAt is when the next request is due: never before nextAt; while
// requests are outstanding, not before the latest has had the attempt
// timeout to answer, and never beyond maxInFlight. ok is false when nothing
// is to be sent until an answer comes.
func (s *state) sendAt() (at time.Time, ok bool) {
	switch {
	case s.inFlight == 0:
		return s.nextAt, true
	case s.inFlight >= maxInFlight:
		return time.Time{}, false
	}
	return later(s.nextAt, s.lastSent.Add(s.attempt)), true
}

// send records a request sent at sent and returns when to give up on it:
// once its success could no longer prove anything (sent + ttl - margin).
func (s *state) send(sent time.Time) (giveUp time.Time) {
	s.inFlight++
	s.lastSent = sent
	return sent.Add(s.validFor())
}

// result applies the answer (err) to a Lock request sent at sent and
// received at now. It returns what changed and the cause of a loss, and
// moves nextAt.
func (s *state) result(sent, now time.Time, err error) (ev event, cause error) {
	s.inFlight = max(s.inFlight-1, 0)
	switch {
	case err == nil:
		s.mayHold = true
		until := sent.Add(s.validFor())
		if !now.Before(until) {
			// Answered too late to prove anything; the deadline decides.
			s.nextAt = later(s.nextAt, now.Add(s.errRetry))
			return noChange, nil
		}
		ev = refreshed
		if !s.held {
			ev = acquired
		}
		s.held = true
		if until.After(s.deadline) {
			s.deadline = until
		}
		s.nextAt = later(s.nextAt, sent.Add(s.retry))
		return ev, nil
	case isCollision(err):
		s.mayHold = false
		s.nextAt = later(sent.Add(s.acquire), now)
		if s.held {
			s.held = false
			return lost, ErrTaken
		}
		return noChange, nil
	default:
		// Unknown outcome: the request may have been applied. Retry soon,
		// held or not: Locket (or its database) is failing, not refusing,
		// and a presence must come back promptly once it recovers.
		s.mayHold = true
		next := sent.Add(s.retry)
		if !s.held {
			next = sent.Add(s.acquire)
		}
		if soon := now.Add(s.errRetry); soon.Before(next) {
			next = soon
		}
		if s.nextAt.Before(now) || next.Before(s.nextAt) {
			s.nextAt = later(next, now)
		}
		return noChange, nil
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
