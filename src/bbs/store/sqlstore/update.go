package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/diego-go/diego/src/bbs/store"
)

// Retry policy for transactions that fail with a deadlock, serialization
// failure or SQLITE_BUSY.
const (
	maxAttempts  = 10
	backoffBase  = 2 * time.Millisecond
	backoffLimit = 250 * time.Millisecond
)

// Update runs fn in a write transaction. When the database reports a
// deadlock, serialization failure or busy database (or fn returns an error
// wrapping store.ErrRetryable) the transaction is rolled back and retried
// with jittered exponential backoff, up to 10 attempts; the final error then
// wraps store.ErrRetryable. Any other error from fn rolls back and is
// returned as is. A panic in fn rolls back and is re-raised. fn must not
// call Update itself (on SQLite the one writer connection is already taken).
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.withRetry(ctx, func() error {
		return s.inTx(ctx, func(sqlTx *sql.Tx) error {
			return fn(&tx{ctx: ctx, s: s, tx: sqlTx})
		})
	})
}

// withRetry calls attempt until it succeeds, fails with a non-retryable
// error, the context ends, or maxAttempts is reached.
func (s *Store) withRetry(ctx context.Context, attempt func() error) error {
	var err error
	for i := range maxAttempts {
		if err = attempt(); err == nil || !errors.Is(err, store.ErrRetryable) {
			return err
		}
		if i == maxAttempts-1 {
			break
		}
		delay := backoff(i)
		s.log.Debug("retrying transaction", "attempt", i+1, "delay", delay, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("transaction retry: %w (last error: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
	return fmt.Errorf("transaction failed after %d attempts: %w", maxAttempts, err)
}

// backoff is exponential from backoffBase, capped at backoffLimit, with
// the delay drawn uniformly from [d/2, 3d/2).
func backoff(attempt int) time.Duration {
	d := min(backoffBase<<attempt, backoffLimit)
	return d/2 + rand.N(d)
}

// inTx runs fn in one transaction on the writer, committing if fn returns
// nil. Driver errors come back wrapped in the matching store sentinel.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.d.wrap(fmt.Errorf("begin transaction: %w", err))
	}
	done := false
	defer func() {
		if !done {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(sqlTx); err != nil {
		return s.d.wrap(err)
	}
	done = true
	if err := sqlTx.Commit(); err != nil {
		return s.d.wrap(fmt.Errorf("commit: %w", err))
	}
	return nil
}
