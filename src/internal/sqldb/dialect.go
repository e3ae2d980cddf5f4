package sqldb

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// Kind is how a dialect classifies a driver error.
type Kind int

// The kinds of driver error a store reacts to.
const (
	KindOther     Kind = iota
	KindUnique         // a primary or unique key violation
	KindRetryable      // a deadlock, serialization failure or busy database
)

// Dialect is everything that differs between the three databases. Queries
// are written once with "?" placeholders and rebound per dialect by Q.
type Dialect struct {
	// Name is the driver name (DriverSQLite, DriverPostgres, DriverMySQL).
	Name string
	// dollar: placeholders are $1, $2, ... (postgres).
	dollar bool
	// ForUpdate is appended to reads made inside a write transaction.
	ForUpdate string
	// InsertSuffix is appended to INSERTs so a duplicate key affects no rows
	// instead of raising an error (postgres: an error would abort the whole
	// transaction, so the caller could not recover from it).
	InsertSuffix string
	// Upsert builds "insert or replace the non-key columns".
	Upsert func(table, key string, cols ...string) string
	// Classify maps a driver error to a Kind.
	Classify func(error) Kind
	// RawRows, when set, replaces database/sql for streaming queries that
	// select one bytes column: it calls row with each value, which is only
	// valid until row returns.
	RawRows func(ctx context.Context, db *sql.DB, query string, args []any, row func([]byte) error) error
	// open returns the writer and reader pools (the same pool unless sqlite).
	open func(ctx context.Context, cfg Config) (w, r *sql.DB, err error)
	// lockMigrations serialises migrations across processes on conn.
	lockMigrations func(ctx context.Context, conn *sql.Conn) (unlock func(), err error)

	rebound sync.Map // query with ? -> query with $n
}

// Dialects maps each driver name to its dialect.
var Dialects = map[string]*Dialect{
	DriverSQLite:   sqliteDialect,
	DriverPostgres: postgresDialect,
	DriverMySQL:    mysqlDialect,
}

// Q returns query with placeholders in this dialect's syntax.
func (d *Dialect) Q(query string) string {
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

// upsertOnConflict is the SQLite and PostgreSQL upsert.
func upsertOnConflict(table, key string, cols ...string) string {
	all := append([]string{key}, cols...)
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = excluded." + c
	}
	return "INSERT INTO " + table + " (" + strings.Join(all, ", ") + ") VALUES (" + Placeholders(len(all)) +
		") ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// Placeholders returns "?, ?, ..." with n marks.
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
