package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
)

// LockStore is the locks table on its own, for a Locket process that has no
// BBS encryption keys. It shares the schema, dialects and transaction retry
// of Store (a BBS embedding Locket uses its *Store directly, which has the
// same lock methods); it simply never touches the encrypted tables.
type LockStore struct {
	s *Store
}

// OpenLocks connects to the database cfg names and applies pending schema
// migrations (the whole schema: Locket and the BBS may share a database),
// but needs no key ring and performs no encryption checks. A nil logger
// discards logs.
func OpenLocks(ctx context.Context, cfg Config, logger *slog.Logger) (*LockStore, error) {
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
	// ring stays nil: LockStore exposes only the lock methods, which never seal or open records.
	s := &Store{d: d, w: w, r: r, log: logger.With("component", "sqlstore", "driver", d.name)}
	if err := migrate(ctx, w, d, latestVersion(), s.log); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: migrating %s schema: %w", d.name, err)
	}
	return &LockStore{s: s}, nil
}

// AcquireLock is Store.AcquireLock.
func (l *LockStore) AcquireLock(ctx context.Context, lock Lock) (Lock, error) {
	return l.s.AcquireLock(ctx, lock)
}

// ReleaseLock is Store.ReleaseLock.
func (l *LockStore) ReleaseLock(ctx context.Context, key, owner string) error {
	return l.s.ReleaseLock(ctx, key, owner)
}

// ExpireLock is Store.ExpireLock.
func (l *LockStore) ExpireLock(ctx context.Context, key string, modifiedIndex int64, modifiedID string) (bool, error) {
	return l.s.ExpireLock(ctx, key, modifiedIndex, modifiedID)
}

// FetchLock is Store.FetchLock.
func (l *LockStore) FetchLock(ctx context.Context, key string) (Lock, error) {
	return l.s.FetchLock(ctx, key)
}

// FetchLocks is Store.FetchLocks.
func (l *LockStore) FetchLocks(ctx context.Context, typ string) ([]Lock, error) {
	return l.s.FetchLocks(ctx, typ)
}

// CountLocks is Store.CountLocks.
func (l *LockStore) CountLocks(ctx context.Context) (map[string]int64, error) {
	return l.s.CountLocks(ctx)
}

// Close closes the connection pools. It is safe to call more than once.
func (l *LockStore) Close() error { return l.s.Close() }
