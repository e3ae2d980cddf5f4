// Package sqlstore implements store.Store over database/sql, with one dialect each for SQLite, PostgreSQL and MySQL/MariaDB.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/store"
)

// Store is the SQL implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	d    *dialect
	w    *sql.DB // writer: Update and Reencrypt
	r    *sql.DB // readers (the same pool as w except on sqlite)
	ring *keyring.Ring
	log  *slog.Logger

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open connects to the database cfg names and applies pending schema
// migrations; records are sealed with ring. It does not look at the labels
// stored records are under: the re-encryption policy (src/bbs/reencrypt)
// does, once the store is open. A nil logger discards logs.
func Open(ctx context.Context, cfg Config, ring *keyring.Ring, logger *slog.Logger) (*Store, error) {
	if ring == nil {
		return nil, errors.New("sqlstore: encryption key ring is nil")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := dialects[cfg.Driver]
	w, r, err := d.open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	s := &Store{d: d, w: w, r: r, ring: ring, log: logger.With("component", "sqlstore", "driver", d.name)}
	if err := migrate(ctx, w, d, latestVersion(), s.log); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: migrating %s schema: %w", d.name, err)
	}
	return s, nil
}

// Close closes the connection pools. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		err := s.w.Close()
		if s.r != s.w {
			err = errors.Join(err, s.r.Close())
		}
		s.closeErr = err
	})
	return s.closeErr
}
