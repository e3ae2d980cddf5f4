package sqlstore

import (
	"context"
	"database/sql"

	"github.com/diego-go/diego/src/bbs/store"
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

// withRetry calls attempt until it succeeds, fails with an error not
// wrapping store.ErrRetryable, the context ends, or sqldb.MaxAttempts is reached.
func (s *Store) withRetry(ctx context.Context, attempt func() error) error {
	return s.db.Retry(ctx, store.ErrRetryable, attempt)
}

// inTx runs fn in one transaction on the writer, committing if fn returns
// nil. Driver errors come back wrapped in the matching store sentinel.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.d.wrap(s.db.InTx(ctx, fn))
}
