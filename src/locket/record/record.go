// Package record defines the row Locket keeps for a lock or presence, the limits of its columns, and the errors lock stores report.
package record

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Lock is one row of the locks table: a Locket lock or presence.
//
// ModifiedIndex grows with every write of a key and never repeats for that
// key, even after the row is deleted and created again. ModifiedID is fixed
// for the life of a row (from its creation until its release or expiry), so
// (ModifiedIndex, ModifiedID) names exactly one version of one row.
type Lock struct {
	Key           string
	Owner         string
	Value         string
	Type          string
	TTLSeconds    int64
	ModifiedIndex int64
	ModifiedID    string
}

// The two types of row.
const (
	TypeLock     = "lock"
	TypePresence = "presence"
)

var (
	// ErrNotFound: the lock does not exist.
	ErrNotFound = errors.New("locket: lock not found")
	// ErrCollision: the lock is held by another owner.
	ErrCollision = errors.New("locket: lock is held by another owner")
	// ErrInvalid: a lock to write is missing a field or has one too long
	// for the schema.
	ErrInvalid = errors.New("locket: invalid lock")
)

// Column limits of the locks table in the PostgreSQL and MySQL schemas
// (characters), enforced for SQLite too so every database behaves alike.
const (
	MaxKeyLen   = 255
	MaxOwnerLen = 255
	MaxTypeLen  = 255
	MaxValueLen = 4096
)

// Check reports, wrapping ErrInvalid, the first field of l a store cannot
// write: an empty key or owner, a TTL under a second, or a value too long
// for its column.
func (l Lock) Check() error {
	switch {
	case l.Key == "":
		return fmt.Errorf("%w: key is empty", ErrInvalid)
	case l.Owner == "":
		return fmt.Errorf("%w: owner is empty", ErrInvalid)
	case l.TTLSeconds <= 0:
		return fmt.Errorf("%w: ttl is %d seconds; want at least 1", ErrInvalid, l.TTLSeconds)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"key", l.Key, MaxKeyLen},
		{"owner", l.Owner, MaxOwnerLen},
		{"type", l.Type, MaxTypeLen},
		{"value", l.Value, MaxValueLen},
	} {
		if n := utf8.RuneCountInString(f.v); n > f.max {
			return fmt.Errorf("%w: %s is %d characters; at most %d fit", ErrInvalid, f.name, n, f.max)
		}
	}
	return nil
}
