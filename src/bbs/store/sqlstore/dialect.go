package sqlstore

import (
	"errors"
	"fmt"

	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/internal/sqldb"
)

// Driver names accepted in Config.Driver.
const (
	DriverSQLite   = sqldb.DriverSQLite
	DriverPostgres = sqldb.DriverPostgres
	DriverMySQL    = sqldb.DriverMySQL
)

// Config selects the database and sizes the connection pool (see sqldb.Config).
type Config = sqldb.Config

// dialect is the shared sqldb.Dialect under the short names the store's
// queries use, plus the mapping of driver errors onto store sentinels.
type dialect struct {
	*sqldb.Dialect
	name         string
	forUpdate    string
	insertSuffix string
	upsert       func(table, key string, cols ...string) string
}

func newDialect(d *sqldb.Dialect) *dialect {
	return &dialect{Dialect: d, name: d.Name, forUpdate: d.ForUpdate, insertSuffix: d.InsertSuffix, upsert: d.Upsert}
}

// q returns query with placeholders in this dialect's syntax.
func (d *dialect) q(query string) string { return d.Q(query) }

// wrap attaches the store sentinel matching a driver error, keeping the
// driver error in the chain. Errors already carrying a sentinel pass through.
func (d *dialect) wrap(err error) error {
	if err == nil || isSentinel(err) {
		return err
	}
	switch d.Classify(err) {
	case sqldb.KindUnique:
		return fmt.Errorf("%w: %w", store.ErrExists, err)
	case sqldb.KindRetryable:
		return fmt.Errorf("%w: %w", store.ErrRetryable, err)
	}
	return err
}

func isSentinel(err error) bool {
	for _, s := range []error{store.ErrNotFound, store.ErrExists, store.ErrConflict, store.ErrRetryable, store.ErrUnknownKeyLabel} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
