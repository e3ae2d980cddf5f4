package sqlstore

import (
	"context"
	"database/sql"
	"testing"

	"github.com/diego-go/diego/src/internal/sqldb"
)

// rawDB is a database opened without running migrations.
type rawDB struct {
	*sql.DB // the writer pool
	db      *sqldb.DB
}

// querier is a pool (a rawDB's or a Store's).
type querier interface {
	Query(query string, args ...any) (*sql.Rows, error)
	QueryRow(query string, args ...any) *sql.Row
}

// openRaw opens driver/dsn without running migrations.
func openRaw(t *testing.T, driver, dsn string) (rawDB, *dialect) {
	t.Helper()
	db, err := sqldb.Open(context.Background(), Config{Driver: driver, DSN: dsn}, testLogger(t))
	if err != nil {
		t.Fatalf("opening %s: %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return rawDB{DB: db.W, db: db}, newDialect(db.Dialect)
}

func migrateTo(t *testing.T, db rawDB, d *dialect, version int) {
	t.Helper()
	if err := db.db.MigrateTo(context.Background(), schema, version); err != nil {
		t.Fatalf("migrating %s to %d: %v", d.name, version, err)
	}
}

// tableExists reports whether a SELECT of cols from table works.
func tableExists(db querier, table, cols string) error {
	rows, err := db.Query("SELECT " + cols + " FROM " + table + " WHERE 1 = 0")
	if err != nil {
		return err
	}
	return rows.Close()
}

func indexExists(t *testing.T, db querier, d *dialect, name string) bool {
	t.Helper()
	var q string
	switch d.name {
	case DriverSQLite:
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?"
	case DriverPostgres:
		q = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?"
	case DriverMySQL:
		q = "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = ?"
	}
	var n int
	if err := db.QueryRow(d.q(q), name).Scan(&n); err != nil {
		t.Fatalf("looking up index %s: %v", name, err)
	}
	return n > 0
}

func appliedList(t *testing.T, db querier) map[int]string {
	t.Helper()
	rows, err := db.Query("SELECT version, name FROM schema_migrations")
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var v int
		var n string
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		out[v] = n
	}
	return out
}
