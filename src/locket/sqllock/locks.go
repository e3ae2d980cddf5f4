package sqllock

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/locket/record"
)

// configLockIndexFloor is the configurations row holding the highest
// modified index handed to a new lock row or held by a deleted one. A new
// row starts above it, so a key's indexes keep growing across deletes while
// refreshing an existing row touches only that row (no global hot spot on
// the path every holder takes every few seconds).
const configLockIndexFloor = "locket_modified_index_floor"

const lockColumns = "path, owner, value, type, ttl, modified_index, modified_id"

// AcquireLock creates the lock l.Key for l.Owner, or refreshes it when
// l.Owner already holds it: value, type and TTL are replaced and the
// modified index is bumped, keeping the modified id. A new row gets a fresh
// random modified id and an index above any the key ever had. A key held by
// another owner fails with record.ErrCollision. It returns the row as written.
// Of concurrent acquirers of a free key exactly one wins.
func (s *Store) AcquireLock(ctx context.Context, l record.Lock) (record.Lock, error) {
	if err := l.Check(); err != nil {
		return record.Lock{}, fmt.Errorf("acquire lock %q: %w", l.Key, err)
	}
	var out record.Lock
	err := s.db.Retry(ctx, sqldb.ErrRetryable, func() error {
		return s.inTx(ctx, func(tx *sql.Tx) error {
			cur, err := s.lockForUpdate(ctx, tx, l.Key)
			if err != nil && !errors.Is(err, record.ErrNotFound) {
				return err
			}
			out = l
			if err == nil {
				if cur.Owner != l.Owner {
					return record.ErrCollision
				}
				out.ModifiedIndex, out.ModifiedID = cur.ModifiedIndex+1, cur.ModifiedID
				_, err := tx.ExecContext(ctx, s.d.Q("UPDATE locks SET value = ?, type = ?, ttl = ?, modified_index = ? WHERE path = ?"),
					out.Value, out.Type, out.TTLSeconds, out.ModifiedIndex, out.Key)
				return err
			}
			if out.ModifiedIndex, err = s.takeLockIndex(ctx, tx); err != nil {
				return err
			}
			if out.ModifiedID, err = newGUID(); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, s.d.Q("INSERT INTO locks ("+lockColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)"+s.d.InsertSuffix),
				out.Key, out.Owner, out.Value, out.Type, out.TTLSeconds, out.ModifiedIndex, out.ModifiedID)
			return s.db.InsertedOne(res, err, "lock "+strconv.Quote(out.Key))
		})
	})
	if err != nil {
		return record.Lock{}, fmt.Errorf("acquire lock %q: %w", l.Key, err)
	}
	return out, nil
}

// ReleaseLock deletes the lock key held by owner. A missing lock fails with
// record.ErrNotFound, one held by another owner with record.ErrCollision.
func (s *Store) ReleaseLock(ctx context.Context, key, owner string) error {
	err := s.db.Retry(ctx, sqldb.ErrRetryable, func() error {
		return s.inTx(ctx, func(tx *sql.Tx) error {
			cur, err := s.lockForUpdate(ctx, tx, key)
			if err != nil {
				return err
			}
			if cur.Owner != owner {
				return record.ErrCollision
			}
			if _, err := tx.ExecContext(ctx, s.d.Q("DELETE FROM locks WHERE path = ?"), key); err != nil {
				return err
			}
			return s.raiseLockIndexFloor(ctx, tx, cur.ModifiedIndex)
		})
	})
	if err != nil {
		return fmt.Errorf("release lock %q: %w", key, err)
	}
	return nil
}

// ExpireLock deletes the lock key only if it is still the version named by
// modifiedIndex and modifiedID (compare-and-delete), reporting whether it
// did. A lock refreshed, released or re-created since is left alone, so an
// expiry timer holding an old version can never remove a newer one.
func (s *Store) ExpireLock(ctx context.Context, key string, modifiedIndex int64, modifiedID string) (bool, error) {
	var expired bool
	err := s.db.Retry(ctx, sqldb.ErrRetryable, func() error {
		expired = false
		return s.inTx(ctx, func(tx *sql.Tx) error {
			n, err := sqldb.Affected(tx.ExecContext(ctx, s.d.Q("DELETE FROM locks WHERE path = ? AND modified_index = ? AND modified_id = ?"),
				key, modifiedIndex, modifiedID))
			if err != nil {
				return err
			}
			if n == 0 {
				return nil
			}
			expired = true
			return s.raiseLockIndexFloor(ctx, tx, modifiedIndex)
		})
	})
	if err != nil {
		return false, fmt.Errorf("expire lock %q at index %d: %w", key, modifiedIndex, err)
	}
	return expired, nil
}

// FetchLock returns the lock key or an error wrapping record.ErrNotFound.
func (s *Store) FetchLock(ctx context.Context, key string) (record.Lock, error) {
	l, err := scanLock(s.db.R.QueryRowContext(ctx, s.d.Q("SELECT "+lockColumns+" FROM locks WHERE path = ?"), key).Scan)
	if err != nil {
		return record.Lock{}, fmt.Errorf("fetch lock %q: %w", key, err)
	}
	return l, nil
}

// FetchLocks lists, ordered by key, the locks of type typ ("lock",
// "presence"), or every lock when typ is "".
func (s *Store) FetchLocks(ctx context.Context, typ string) ([]record.Lock, error) {
	query, args := "SELECT "+lockColumns+" FROM locks ORDER BY path", []any(nil)
	if typ != "" {
		query, args = "SELECT "+lockColumns+" FROM locks WHERE type = ? ORDER BY path", []any{typ}
	}
	var out []record.Lock
	rows, err := s.db.R.QueryContext(ctx, s.d.Q(query), args...)
	err = sqldb.Rows(rows, err, func(scan func(...any) error) error {
		l, err := scanLock(scan)
		out = append(out, l)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch locks %q: %w", typ, err)
	}
	return out, nil
}

// CountLocks counts the locks of each type.
func (s *Store) CountLocks(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	rows, err := s.db.R.QueryContext(ctx, "SELECT type, COUNT(*) FROM locks GROUP BY type")
	err = sqldb.Rows(rows, err, func(scan func(...any) error) error {
		var typ string
		var n int64
		err := scan(&typ, &n)
		out[typ] = n
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("count locks: %w", err)
	}
	return out, nil
}

func scanLock(scan func(dest ...any) error) (record.Lock, error) {
	var l record.Lock
	err := scan(&l.Key, &l.Owner, &l.Value, &l.Type, &l.TTLSeconds, &l.ModifiedIndex, &l.ModifiedID)
	if errors.Is(err, sql.ErrNoRows) {
		return record.Lock{}, record.ErrNotFound
	}
	return l, err
}

// lockForUpdate reads the lock key inside tx, locking its row where the
// database supports it; record.ErrNotFound when absent.
func (s *Store) lockForUpdate(ctx context.Context, tx *sql.Tx, key string) (record.Lock, error) {
	return scanLock(tx.QueryRowContext(ctx, s.d.Q("SELECT "+lockColumns+" FROM locks WHERE path = ?"+s.d.ForUpdate), key).Scan)
}

// lockIndexFloor reads (and locks) the floor row, creating it when missing
// from the highest index in the locks table.
func (s *Store) lockIndexFloor(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v string
	err := tx.QueryRowContext(ctx, s.d.Q("SELECT value FROM configurations WHERE id = ?"+s.d.ForUpdate), configLockIndexFloor).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		var floor int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(modified_index), 0) FROM locks").Scan(&floor); err != nil {
			return 0, fmt.Errorf("reading the highest lock index: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.d.Q("INSERT INTO configurations (id, value) VALUES (?, ?)"+s.d.InsertSuffix),
			configLockIndexFloor, strconv.FormatInt(floor, 10))
		if err := s.db.InsertedOne(res, err, "configuration "+configLockIndexFloor); err != nil {
			return 0, err
		}
		return floor, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", configLockIndexFloor, err)
	}
	floor, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("configuration %s holds %q, not an integer: %w", configLockIndexFloor, v, err)
	}
	return floor, nil
}

func (s *Store) setLockIndexFloor(ctx context.Context, tx *sql.Tx, floor int64) error {
	_, err := tx.ExecContext(ctx, s.d.Q("UPDATE configurations SET value = ? WHERE id = ?"), strconv.FormatInt(floor, 10), configLockIndexFloor)
	if err != nil {
		return fmt.Errorf("writing %s: %w", configLockIndexFloor, err)
	}
	return nil
}

// takeLockIndex returns the index for a new lock row: one above the floor,
// which moves up to it.
func (s *Store) takeLockIndex(ctx context.Context, tx *sql.Tx) (int64, error) {
	floor, err := s.lockIndexFloor(ctx, tx)
	if err != nil {
		return 0, err
	}
	next := floor + 1
	return next, s.setLockIndexFloor(ctx, tx, next)
}

// raiseLockIndexFloor records the index of a deleted row so that the key's
// next row starts above it.
func (s *Store) raiseLockIndexFloor(ctx context.Context, tx *sql.Tx, deleted int64) error {
	floor, err := s.lockIndexFloor(ctx, tx)
	if err != nil || floor >= deleted {
		return err
	}
	return s.setLockIndexFloor(ctx, tx, deleted)
}

// newGUID returns a random (version 4) UUID.
func newGUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating modified id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
