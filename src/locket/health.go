package locket

import (
	"time"
)

// storeHealth is what a Service knows of its lock store's availability:
// expiry only counts time during which the store could have persisted the
// holders' refreshes. Guarded by Service.mu.
type storeHealth struct {
	failing      bool      // the last store operation failed
	failedAt     time.Time // the latest failure
	healthySince time.Time // the first success after the latest failure
}

// storeFailed records a store operation that failed for a reason other
// than the request (the database is down, unreachable or overloaded).
func (s *Service) storeFailed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.health.failing {
		s.log.Error("lock store failing: expiries are postponed until it is back and holders have had one ttl to refresh", "error", err)
		s.metrics.storeFailing.Set(1)
	}
	s.health.failing, s.health.failedAt = true, time.Now()
}

// storeOK records a store operation that succeeded.
func (s *Service) storeOK() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.health.failing {
		return
	}
	s.health.failing, s.health.healthySince = false, time.Now()
	s.metrics.storeFailing.Set(0)
	s.log.Info("lock store back: every lock's ttl counts from now", "failing_since_at_least", s.health.failedAt)
}

// postponeLocked is how long e's expiry must wait at now: while the store
// is failing, a full TTL (then it is looked at again); once it is back,
// until one TTL after it came back if the failure happened since e's TTL
// began. 0 means e may expire now. It moves e's start accordingly.
func (s *Service) postponeLocked(e *expiry, now time.Time) time.Duration {
	h := s.health
	switch {
	case h.failing:
		e.since = now
		return e.ttl
	case h.healthySince.After(e.since):
		e.since = h.healthySince
		return max(e.since.Add(e.ttl).Sub(now), 0)
	}
	return 0
}
