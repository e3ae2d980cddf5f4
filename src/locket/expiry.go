package locket

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/locket/record"
)

const (
	// storeCallTimeout bounds one compare-and-delete and one scan: a
	// database that does not answer in time (unreachable, not refusing)
	// counts as failing, so expiries are postponed until it is back.
	storeCallTimeout = 5 * time.Second
	// expiryRetry is the wait before retrying a compare-and-delete that failed
	// (a database hiccup must not leave a dead holder's lock in place forever).
	expiryRetry = time.Second
)

// expiry is the timer for one version of one lock.
type expiry struct {
	key, owner, typ string
	index           int64
	id              string
	ttl             time.Duration
	since           time.Time   // the TTL counts from here; guarded by Service.mu
	timer           *time.Timer // guarded by Service.mu
}

// arm starts the TTL timer for version l of a lock, replacing the timer of
// an older version; a version no newer than the tracked one is ignored (a
// slower response, or a scan racing a refresh). It reports whether l is a
// row this Service had not seen (a new acquisition rather than a refresh).
func (s *Service) arm(l record.Lock) (isNew bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	cur, ok := s.timers[l.Key]
	if ok {
		if cur.index >= l.ModifiedIndex {
			return false
		}
		cur.timer.Stop()
	}
	e := &expiry{key: l.Key, owner: l.Owner, typ: l.Type, index: l.ModifiedIndex, id: l.ModifiedID, ttl: ttlDuration(l.TTLSeconds), since: time.Now()}
	e.timer = time.AfterFunc(e.ttl, func() { s.expire(e) })
	s.timers[l.Key] = e
	return !ok || cur.id != l.ModifiedID
}

// ttlDuration converts a TTL in seconds, saturating instead of overflowing.
func ttlDuration(seconds int64) time.Duration {
	if seconds > int64(math.MaxInt64/time.Second) {
		return math.MaxInt64
	}
	return time.Duration(seconds) * time.Second
}

// expire runs when e's timer fires: it deletes the lock if it is still at
// e's version. If the lock changed (written through another Locket server
// on the same database) it arms a timer for the current version instead.
//
// A lock is never expired for want of refreshes this Service could not
// have served: while the store is failing the timer is postponed by the
// TTL, and after the store recovers the TTL counts from the recovery.
func (s *Service) expire(e *expiry) {
	s.mu.Lock()
	if s.closed || s.timers[e.key] != e {
		s.mu.Unlock()
		return
	}
	if wait := s.postponeLocked(e, time.Now()); wait > 0 {
		e.timer = time.AfterFunc(wait, func() { s.expire(e) })
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ctx, cancel := context.WithTimeout(s.ctx, storeCallTimeout)
	defer cancel()
	log := s.log.With("key", e.key, "owner", e.owner, "type", e.typ, "modified_index", e.index)
	expired, err := s.store.ExpireLock(ctx, e.key, e.index, e.id)
	if err != nil {
		if s.ctx.Err() != nil {
			return
		}
		s.storeFailed(err)
		log.Warn("expiring lock failed; will retry once the store is back", "error", err)
		s.mu.Lock()
		if !s.closed && s.timers[e.key] == e {
			e.timer = time.AfterFunc(max(s.postponeLocked(e, time.Now()), expiryRetry), func() { s.expire(e) })
		}
		s.mu.Unlock()
		return
	}
	s.storeOK()
	s.mu.Lock()
	if s.timers[e.key] == e {
		delete(s.timers, e.key)
	}
	s.mu.Unlock()
	if expired {
		log.Info("lock expired")
		s.metrics.expirations.WithLabelValues(e.typ).Inc()
		return
	}
	cur, err := s.store.FetchLock(ctx, e.key)
	switch {
	case err == nil:
		log.Debug("lock changed since its timer was armed; following the current version", "current_index", cur.ModifiedIndex)
		s.arm(cur)
	case !errors.Is(err, record.ErrNotFound) && s.ctx.Err() == nil:
		// The next scan arms it.
		log.Warn("reading a changed lock failed", "error", err)
	}
}

// armAll arms a timer for every lock in the store.
func (s *Service) armAll(ctx context.Context) (int, error) {
	locks, err := s.store.FetchLocks(ctx, "")
	if err != nil {
		if s.ctx.Err() == nil { // not closing
			s.storeFailed(err)
		}
		return 0, err
	}
	s.storeOK()
	for _, l := range locks {
		s.arm(l)
	}
	return len(locks), nil
}

// scanLoop re-arms every lock each scan interval, so that a lock last
// written through another Locket server that has since gone away still
// expires.
func (s *Service) scanLoop() {
	defer s.wg.Done()
	serve.Every(s.ctx, s.scan, func(time.Time) {
		ctx, cancel := context.WithTimeout(s.ctx, max(s.scan, storeCallTimeout))
		defer cancel()
		if _, err := s.armAll(ctx); err != nil && s.ctx.Err() == nil {
			s.log.Warn("scanning locks failed", "error", err)
		}
	})
}

// Timers is how many locks this Service currently has expiry timers for.
func (s *Service) Timers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.timers)
}
