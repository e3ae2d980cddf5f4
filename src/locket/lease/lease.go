// Package lease holds a Locket lock or presence: it acquires, refreshes, and declares the lease lost before anyone else could take it.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/locket"
)

// Defaults, as for the reference's BBS and auctioneer locks.
const (
	DefaultTTL            = 15 * time.Second
	DefaultRetryInterval  = 5 * time.Second
	DefaultReleaseTimeout = 5 * time.Second
)

var (
	// ErrExpired: no refresh succeeded in time; the server may expire the
	// lease from TTL-SafetyMargin after the last successful request was sent.
	ErrExpired = errors.New("lease: not refreshed within its ttl less the safety margin")
	// ErrTaken: Locket reports another owner holds the lock.
	ErrTaken = errors.New("lease: held by another owner")
	// ErrLost is returned by Hold with StopOnLost, wrapping ErrExpired or ErrTaken.
	ErrLost = errors.New("lease: lost")
)

// Config describes a lease.
type Config struct {
	// Resource is the lock or presence: Key, Owner, Value and its type
	// (TypeCode, or the deprecated Type).
	Resource *models.Resource
	// TTL is sent to Locket; whole seconds, at least 1 s. 0 means DefaultTTL.
	TTL time.Duration
	// RetryInterval is how often to refresh while held and to try while not
	// (failed refreshes are retried sooner, at most every second). It must
	// be below TTL-SafetyMargin. 0 means DefaultRetryInterval.
	RetryInterval time.Duration
	// AcquireInterval is how often to try while the lease is not held (a
	// standby waiting for a leader's lock to expire wants this short, so it
	// takes over promptly). 0 means RetryInterval.
	AcquireInterval time.Duration
	// SafetyMargin: the lease is declared lost at (send time of the last
	// successful request) + TTL - SafetyMargin. It absorbs clock-rate drift
	// and scheduling delays. 0 means TTL/5.
	SafetyMargin time.Duration
	// AttemptTimeout: a Lock request not answered by then is joined by
	// another one (at most 3 in flight); each request is given up only when
	// its success could no longer count (TTL - SafetyMargin after it was
	// sent). 0 means (TTL - SafetyMargin) / 4.
	AttemptTimeout time.Duration
	// ReleaseTimeout bounds the release when Hold ends. 0 means DefaultReleaseTimeout.
	ReleaseTimeout time.Duration
	// StopOnLost makes Hold return (an error wrapping ErrLost) when the
	// lease is lost, rather than trying to acquire it again (a presence
	// wants the latter; a leader that must restart, the former).
	StopOnLost bool
	// OnAcquired is called when the lease becomes held. OnLost is called,
	// with ErrExpired, ErrTaken or the context's error, when it stops being
	// held: every OnAcquired is followed by exactly one OnLost. Both run on
	// Hold's goroutine, so they must return promptly (a slow callback delays
	// the next refresh).
	OnAcquired func()
	OnLost     func(cause error)
	// Logger receives the lease's logs; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.SafetyMargin == 0 {
		c.SafetyMargin = c.TTL / 5
	}
	if c.AcquireInterval == 0 {
		c.AcquireInterval = c.RetryInterval
	}
	if c.ReleaseTimeout == 0 {
		c.ReleaseTimeout = DefaultReleaseTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first problem with c once defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	r := c.Resource
	switch {
	case r == nil:
		return errors.New("lease: no resource")
	case r.Key == "":
		return errors.New("lease: resource key is empty")
	case r.Owner == "":
		return errors.New("lease: resource owner is empty")
	}
	if tc := models.GetResource(r).TypeCode; tc != models.LOCK && tc != models.PRESENCE {
		return fmt.Errorf("lease: resource %q has type %q / type code %d; want lock or presence", r.Key, r.Type, r.TypeCode)
	}
	switch {
	case c.TTL < time.Second || c.TTL%time.Second != 0:
		return fmt.Errorf("lease: ttl %s must be a whole number of seconds, at least 1s", c.TTL)
	case c.SafetyMargin < 0 || c.SafetyMargin >= c.TTL:
		return fmt.Errorf("lease: safety margin %s must be at least 0 and below the ttl %s", c.SafetyMargin, c.TTL)
	case c.RetryInterval <= 0 || c.RetryInterval >= c.TTL-c.SafetyMargin:
		return fmt.Errorf("lease: retry interval %s must be positive and below ttl - safety margin (%s), or the lease lapses between refreshes",
			c.RetryInterval, c.TTL-c.SafetyMargin)
	case c.AcquireInterval < 0:
		return fmt.Errorf("lease: acquire interval %s is negative", c.AcquireInterval)
	case c.AttemptTimeout < 0:
		return fmt.Errorf("lease: attempt timeout %s is negative", c.AttemptTimeout)
	case c.ReleaseTimeout < 0:
		return fmt.Errorf("lease: release timeout %s is negative", c.ReleaseTimeout)
	}
	return nil
}

// Hold keeps the lease described by cfg through client until ctx ends. It
// tries to acquire every RetryInterval; once held it refreshes every
// RetryInterval. It declares the lease lost (OnLost) as soon as Locket
// reports another owner, and at the latest at (send time of the last
// successful request) + TTL - SafetyMargin, before the server could expire
// it, even if a request is still hanging. After a loss it tries again,
// unless StopOnLost. When ctx ends it releases the lock (best effort,
// bounded by ReleaseTimeout) and returns nil.
func Hold(ctx context.Context, client locket.Client, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	h := &holder{
		client: client,
		cfg:    cfg,
		res:    models.GetResource(cfg.Resource),
		st:     newState(cfg),
		log:    cfg.Logger.With("component", "lease", "key", cfg.Resource.Key, "owner", cfg.Resource.Owner),
	}
	return h.run(ctx)
}

type holder struct {
	client locket.Client
	cfg    Config
	res    *models.Resource
	st     *state
	log    *slog.Logger
}

type answer struct {
	id   int
	sent time.Time
	err  error
}

func (h *holder) run(ctx context.Context) error {
	req := &models.LockRequest{Resource: h.res, TtlInSeconds: int64(h.cfg.TTL / time.Second)}
	answers := make(chan answer, maxInFlight)
	attempts := map[int]context.CancelFunc{} // in flight, by id
	nextID := 0
	cancelAll := func() {
		for _, cancel := range attempts {
			cancel()
		}
	}
	defer cancelAll()
	send := time.NewTimer(0)
	defer send.Stop()
	armSend := func(now time.Time) {
		if at, ok := h.st.sendAt(); ok {
			send.Reset(max(at.Sub(now), 0))
		} else {
			send.Stop()
		}
	}
	deadline := time.NewTimer(time.Hour)
	deadline.Stop()
	defer deadline.Stop()

	for {
		select {
		case <-ctx.Done():
			cancelAll()
			if h.st.held {
				h.st.held = false
				h.lost(ctx.Err())
			}
			h.release()
			return nil

		case <-send.C:
			now := time.Now()
			if at, ok := h.st.sendAt(); !ok || now.Before(at) {
				armSend(now)
				continue
			}
			if h.st.inFlight > 0 {
				h.log.Warn("lock request unanswered; sending another alongside it", "in_flight", h.st.inFlight, "waited", now.Sub(h.st.lastSent))
			}
			// Each request has its own deadline: the instant its success
			// would no longer prove anything. One that hangs does not hold up
			// the next, which is sent after the attempt timeout.
			actx, cancel := context.WithDeadline(ctx, h.st.send(now))
			id := nextID
			nextID++
			attempts[id] = cancel
			go func() {
				_, err := h.client.Lock(actx, req)
				answers <- answer{id: id, sent: now, err: err}
			}()
			armSend(now)

		case a := <-answers:
			if cancel, ok := attempts[a.id]; ok {
				cancel()
				delete(attempts, a.id)
			}
			now := time.Now()
			wasHeld := h.st.held
			ev, cause := h.st.result(a.sent, now, a.err)
			switch ev {
			case acquired:
				deadline.Reset(h.st.deadline.Sub(now))
				h.log.Info("lease acquired", "lost_by", h.st.deadline)
				if h.cfg.OnAcquired != nil {
					h.cfg.OnAcquired()
				}
			case refreshed:
				deadline.Reset(h.st.deadline.Sub(now))
				h.log.Debug("lease refreshed", "lost_by", h.st.deadline, "took", now.Sub(a.sent))
			case lost:
				deadline.Stop()
				h.log.Error("lease lost: another owner holds it", "error", a.err)
				h.lost(cause)
				if h.cfg.StopOnLost {
					cancelAll()
					h.release()
					return fmt.Errorf("%w: %w", ErrLost, cause)
				}
			default:
				switch {
				case a.err == nil:
					h.log.Warn("lock request answered too late to count", "sent", a.sent, "took", now.Sub(a.sent))
				case wasHeld:
					h.log.Warn("refreshing lease failed; retrying", "error", a.err, "lost_in", h.st.deadline.Sub(now), "took", now.Sub(a.sent))
				case isCollision(a.err):
					h.log.Debug("lease held by another owner; waiting")
				default:
					h.log.Warn("acquiring lease failed; retrying", "error", a.err, "took", now.Sub(a.sent))
				}
			}
			armSend(now)

		case <-deadline.C:
			now := time.Now()
			if !h.st.expire(now) {
				continue
			}
			h.log.Error("lease lost: not refreshed in time", "deadline", h.st.deadline, "in_flight", h.st.inFlight)
			h.lost(ErrExpired)
			if h.cfg.StopOnLost {
				cancelAll()
				h.release()
				return fmt.Errorf("%w: %w", ErrLost, ErrExpired)
			}
			// Requests still in flight may yet succeed: their own deadlines bound them.
			armSend(now)
		}
	}
}

func (h *holder) lost(cause error) {
	if h.cfg.OnLost != nil {
		h.cfg.OnLost(cause)
	}
}

// release gives the lock back if the server may hold it for us, waiting at
// most ReleaseTimeout even for a client that ignores its context.
func (h *holder) release() {
	if !h.st.mayHold {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.ReleaseTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := h.client.Release(ctx, &models.ReleaseRequest{Resource: h.res})
		done <- err
	}()
	select {
	case err := <-done:
		switch {
		case err == nil:
			h.log.Info("lease released")
		case isCollision(err):
			h.log.Info("lease not released: another owner holds it")
		default:
			h.log.Warn("releasing lease failed; it will expire after its ttl", "error", err)
		}
	case <-ctx.Done():
		h.log.Warn("releasing lease timed out; it will expire after its ttl", "timeout", h.cfg.ReleaseTimeout)
	}
	h.st.mayHold = false
}
