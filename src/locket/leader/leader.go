// Package leader runs work only while this process holds a Locket lock: it stands by until the lock is acquired, runs the work with a context that ends when the lock is lost, and releases the lock on the way out.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/lease"
)

// StandbyInterval bounds how often a standby tries to take the lock, so that
// it takes over promptly once the leader's lock expires.
const StandbyInterval = time.Second

// ErrLost: the lock was lost while leading (Run's error wraps it and the
// lease's cause, lease.ErrTaken or lease.ErrExpired).
var ErrLost = lease.ErrLost

// Config names the lock and how it is held.
type Config struct {
	// Key and Owner name the lock; both are required.
	Key, Owner string
	// TTL and RetryInterval are the lease's (0: lease.DefaultTTL,
	// lease.DefaultRetryInterval). A standby tries every RetryInterval or
	// every StandbyInterval, whichever is shorter.
	TTL, RetryInterval time.Duration
	// Logger receives the transitions; nil discards them.
	Logger *slog.Logger
}

// Run stands by until the lock cfg names is held through client, then
// calls lead with a context that ends when the lock is lost or ctx ends.
// When lead returns the lock is released (the lease gives it back) and Run
// returns: nil when ctx ended, an error wrapping ErrLost when the lock was
// lost, and lead's error otherwise. It returns nil without calling lead when
// ctx ends before the lock is acquired.
//
// lead must stop serving as soon as its context ends: after a loss Run
// returns only once the lease's release attempt is over (at most
// lease.DefaultReleaseTimeout). context.Cause of lead's context wraps
// ErrLost when the lock was lost.
func Run(ctx context.Context, client locket.Client, cfg Config, lead func(ctx context.Context) error) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	retry := cfg.RetryInterval
	if retry == 0 {
		retry = lease.DefaultRetryInterval
	}
	holdCtx, stopHolding := context.WithCancel(ctx)
	defer stopHolding()
	leadCtx, stopLeading := context.WithCancelCause(ctx)
	defer stopLeading(nil)
	acquired := make(chan struct{})
	held := make(chan error, 1)
	log.Info("standing by for the lock", "lock_key", cfg.Key, "lock_owner", cfg.Owner)
	go func() {
		held <- lease.Hold(holdCtx, client, lease.Config{
			Resource:        &models.Resource{Key: cfg.Key, Owner: cfg.Owner, TypeCode: models.LOCK, Type: models.LockType},
			TTL:             cfg.TTL,
			RetryInterval:   cfg.RetryInterval,
			AcquireInterval: min(StandbyInterval, retry),
			StopOnLost:      true,
			Logger:          log,
			OnAcquired:      func() { close(acquired) }, // once: Hold stops on the first loss
			OnLost: func(cause error) {
				if holdCtx.Err() == nil { // not our own stop
					stopLeading(fmt.Errorf("%w: lost the %q lock: %w", ErrLost, cfg.Key, cause))
				}
			},
		})
	}()
	select {
	case <-acquired:
	case err := <-held:
		return err // ctx ended (nil) or the lease config is invalid
	}
	log.Info("leading", "lock_key", cfg.Key, "lock_owner", cfg.Owner)
	err := lead(leadCtx)
	stopHolding()
	holdErr := <-held
	if errors.Is(holdErr, ErrLost) {
		log.Error("stopped leading: the lock was lost", "lock_key", cfg.Key, "error", holdErr)
		return errors.Join(fmt.Errorf("lost the %q lock: %w", cfg.Key, holdErr), err)
	}
	log.Info("stopped leading", "lock_key", cfg.Key, "error", err)
	return errors.Join(err, holdErr)
}
