// Package sqlstore implements store.Store over database/sql on SQLite, PostgreSQL or MySQL/MariaDB, through the dialects, migration runner and transaction retry of internal/sqldb.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/locket/sqllock"
)

// Store is the SQL implementation of store.Store. It is safe for
// concurrent use. It embeds Locket's lock store over the same connections,
// so a BBS embedding Locket serves it from one pool.
type Store struct {
	*sqllock.Store
	db   *sqldb.DB
	d    *dialect
	w    *sql.DB    // writer: Update and Reencrypt
	r    *sql.DB    // readers (the same pool as w except on sqlite)
	rs   *stmtCache // r's prepared statements
	ws   *stmtCache // w's prepared statements
	ring *keyring.Ring
	log  *slog.Logger
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
	db, err := sqldb.Open(ctx, cfg, logger.With("component", "sqlstore"))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	s := &Store{db: db, d: newDialect(db.Dialect), w: db.W, r: db.R, ring: ring, log: db.Log,
		rs: newStmtCache(db.R), ws: newStmtCache(db.W)}
	if err := db.Migrate(ctx, schema); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: migrating %s schema: %w", s.d.name, err)
	}
	if s.Store, err = sqllock.New(ctx, db); err != nil { // Locket's migrations, on the same pool
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pools. It is safe to call more than once.
func (s *Store) Close() error {
	return errors.Join(s.rs.close(), s.ws.close(), s.db.Close())
}
