// Package sqllock is Locket's SQL lock store: the locks table, its own schema migrations, and compare-and-swap writes over the shared dialects of internal/sqldb.
package sqllock

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/diego-go/diego/src/internal/sqldb"
)

// Store is the locks table. It is safe for concurrent use. Errors wrap
// record.ErrNotFound, record.ErrCollision and record.ErrInvalid.
type Store struct {
	db   *sqldb.DB
	d    *sqldb.Dialect
	owns bool // Close closes db
}

// Open connects to the database cfg names and applies Locket's pending
// schema migrations. A nil logger discards logs.
func Open(ctx context.Context, cfg sqldb.Config, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := sqldb.Open(ctx, cfg, logger.With("component", "sqllock"))
	if err != nil {
		return nil, fmt.Errorf("sqllock: %w", err)
	}
	s, err := New(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owns = true
	return s, nil
}

// New applies Locket's pending schema migrations to db and returns a store
// over it, sharing its connections (a BBS embedding Locket keeps one pool).
// Closing the store leaves db open.
func New(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, Schema); err != nil {
		return nil, fmt.Errorf("sqllock: migrating %s schema: %w", db.Dialect.Name, err)
	}
	return &Store{db: db, d: db.Dialect}, nil
}

// Close closes the connection pools if Open opened them. It is safe to
// call more than once.
func (s *Store) Close() error {
	if !s.owns {
		return nil
	}
	return s.db.Close()
}

// inTx runs fn in one write transaction; driver errors the dialect
// classifies as retryable come back wrapping sqldb.ErrRetryable.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	err := s.db.InTx(ctx, fn)
	if err != nil && s.d.Classify(err) == sqldb.KindRetryable {
		return fmt.Errorf("%w: %w", sqldb.ErrRetryable, err)
	}
	return err
}
