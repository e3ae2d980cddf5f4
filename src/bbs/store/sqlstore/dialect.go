package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/diego-go/diego/src/bbs/store"
)

// errKind is how a dialect classifies a driver error.
type errKind int

const (
	errOther errKind = iota
	errUnique
	errRetryable
)

// dialect is everything that differs between the three databases. Queries
// are written once with "?" placeholders and rebound per dialect.
type dialect struct {
	name string
	// dollar: placeholders are $1, $2, ... (postgres).
	dollar bool
	// forUpdate is appended to reads made through a Tx.
	forUpdate string
	// insertSuffix is appended to INSERTs so a duplicate key affects no rows
	// instead of raising an error (postgres: an error would abort the whole
	// transaction, so fn could not recover from ErrExists).
	insertSuffix string
	// upsert builds "insert or replace the non-key columns".
	upsert func(table, key string, cols ...string) string
	// classify maps a driver error to an errKind.
	classify func(error) errKind
	// open returns the writer and reader pools (the same pool unless sqlite).
	open func(ctx context.Context, cfg Config) (w, r *sql.DB, err error)
	// rawRows, when set, replaces database/sql for streaming queries that
	// select one bytes column: it calls row with each value, which is only
	// valid until row returns.
	rawRows func(ctx context.Context, db *sql.DB, query string, args []any, row func([]byte) error) error
	// lockMigrations serialises migrations across processes on conn.
	lockMigrations func(ctx context.Context, conn *sql.Conn) (unlock func(), err error)

	rebound sync.Map // query with ? -> query with $n
}

var dialects = map[string]*dialect{
	DriverSQLite:   sqliteDialect,
	DriverPostgres: postgresDialect,
	DriverMySQL:    mysqlDialect,
}

// q returns query with placeholders in this dialect's syntax.
func (d *dialect) q(query string) string {
	if !d.dollar {
		return query
	}
	if v, ok := d.rebound.Load(query); ok {
		return v.(string)
	}
	v := rebindDollar(query)
	d.rebound.Store(query, v)
	return v
}

// rebindDollar turns ? into $1, $2, ... outside quoted strings.
func rebindDollar(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// wrap attaches the store sentinel matching a driver error, keeping the
// driver error in the chain. Errors already carrying a sentinel pass through.
func (d *dialect) wrap(err error) error {
	if err == nil || isSentinel(err) {
		return err
	}
	switch d.classify(err) {
	case errUnique:
		return fmt.Errorf("%w: %w", store.ErrExists, err)
	case errRetryable:
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

// upsertOnConflict is the SQLite and PostgreSQL upsert.
func upsertOnConflict(table, key string, cols ...string) string {
	all := append([]string{key}, cols...)
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = excluded." + c
	}
	return "INSERT INTO " + table + " (" + strings.Join(all, ", ") + ") VALUES (" + placeholders(len(all)) +
		") ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
