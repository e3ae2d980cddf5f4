// Package sqldb is the SQL plumbing the BBS store and Locket's lock store share: the three dialects, opening a database, schema migrations and retried transactions.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// ErrRetryable marks a transaction failure worth retrying: a deadlock, a
// serialization failure, a busy database, or an insert that lost a race.
var ErrRetryable = errors.New("sqldb: retryable transaction failure")

// Retry policy for transactions that fail retryably.
const (
	MaxAttempts  = 10
	backoffBase  = 2 * time.Millisecond
	backoffLimit = 250 * time.Millisecond
)

// DB is an open database: the dialect, the writer pool and the reader pool
// (the same pool except on SQLite, which has one writer connection). One DB
// may serve several stores; whoever opened it closes it.
type DB struct {
	Dialect *Dialect
	W       *sql.DB // writer: transactions
	R       *sql.DB // readers: reads outside a transaction
	Log     *slog.Logger

	closeOnce sync.Once
	closeErr  error
	// On SQLite, closing stopCheckpoints ends the checkpoints goroutine,
	// which closes checkpointsDone.
	stopCheckpoints chan struct{}
	checkpointsDone chan struct{}
	// writer, on SQLite, is held for each transaction: transactions take
	// the one writer connection in the order they asked (see InTx).
	writer chan struct{}
}

// Open validates cfg, fills its pool defaults and connects. It applies no
// migrations. A nil logger discards logs.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	d := Dialects[cfg.Driver]
	w, r, err := d.open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	db := &DB{Dialect: d, W: w, R: r, Log: logger.With("driver", d.Name)}
	if d.Name == DriverSQLite {
		db.writer = make(chan struct{}, 1)
	}
	if d.Name == DriverSQLite && SQLiteCheckpointInterval > 0 {
		db.stopCheckpoints, db.checkpointsDone = make(chan struct{}), make(chan struct{})
		go db.checkpoints(SQLiteCheckpointInterval, db.stopCheckpoints, db.checkpointsDone)
	}
	return db, nil
}

// Close closes the connection pools. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if db.stopCheckpoints != nil {
			close(db.stopCheckpoints)
			<-db.checkpointsDone
		}
		err := db.W.Close()
		if db.R != db.W {
			err = errors.Join(err, db.R.Close())
		}
		db.closeErr = err
	})
	return db.closeErr
}

// Retry calls attempt until it succeeds, fails with an error not wrapping
// retryable, the context ends, or MaxAttempts is reached (the final error
// then wraps retryable). Delays grow exponentially with jitter.
func (db *DB) Retry(ctx context.Context, retryable error, attempt func() error) error {
	var err error
	for i := range MaxAttempts {
		if err = attempt(); err == nil || !errors.Is(err, retryable) {
			return err
		}
		if i == MaxAttempts-1 {
			break
		}
		delay := backoff(i)
		db.Log.Debug("retrying transaction", "attempt", i+1, "delay", delay, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("transaction retry: %w (last error: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
	return fmt.Errorf("transaction failed after %d attempts: %w", MaxAttempts, err)
}

// backoff is exponential from backoffBase, capped at backoffLimit, with
// the delay drawn uniformly from [d/2, 3d/2).
func backoff(attempt int) time.Duration {
	d := min(backoffBase<<attempt, backoffLimit)
	return d/2 + rand.N(d)
}

// InTx runs fn in one transaction on the writer, committing if fn returns
// nil and rolling back otherwise (a panic in fn rolls back and is
// re-raised). Errors come back as they are; the caller maps them.
//
// On SQLite, whose one writer connection every transaction shares,
// transactions take it in the order they asked: database/sql hands a
// released connection to a waiter picked at random, and with hundreds
// waiting (1,200 cells claiming and starting instances) a Locket presence
// refresh could wait out its lease's TTL behind transactions that had
// asked after it.
func (db *DB) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := db.takeWriter(ctx); err != nil {
		return err
	}
	defer db.releaseWriter()
	sqlTx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(sqlTx); err != nil {
		return err
	}
	done = true
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// takeWriter waits for the writer, on SQLite, behind the transactions that
// asked before (a channel's waiting senders are served in order).
func (db *DB) takeWriter(ctx context.Context) error {
	if db.writer == nil {
		return nil
	}
	select {
	case db.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("begin transaction: waiting for the writer: %w", ctx.Err())
	}
}

func (db *DB) releaseWriter() {
	if db.writer != nil {
		<-db.writer
	}
}

// InsertedOne turns a lost insert race (a duplicate key, or no row inserted
// under the dialect's conflict-ignoring InsertSuffix) into an error wrapping
// ErrRetryable: the retry sees the row the other transaction committed and
// decides afresh.
func (db *DB) InsertedOne(res sql.Result, err error, what string) error {
	if err != nil {
		if db.Dialect.Classify(err) == KindUnique {
			return fmt.Errorf("%w: %s inserted concurrently: %w", ErrRetryable, what, err)
		}
		return err
	}
	n, err := Affected(res, nil)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s inserted concurrently", ErrRetryable, what)
	}
	return nil
}

// Affected returns how many rows the statement that returned (res, err)
// changed, or err.
func Affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}

// Rows calls fn with the Scan of each row of the query that returned
// (rows, err), then closes rows. It stops at fn's first error.
func Rows(rows *sql.Rows, err error, fn func(scan func(dest ...any) error) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
