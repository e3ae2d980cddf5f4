package sqlstore

import (
	"context"
	"database/sql"
	"testing"
)

// rawDB opens the writer pool for driver/dsn without running migrations.
func rawDB(t *testing.T, driver, dsn string) (*sql.DB, *dialect) {
	t.Helper()
	d := dialects[driver]
	w, r, err := d.open(context.Background(), Config{Driver: driver, DSN: dsn}.withDefaults())
	if err != nil {
		t.Fatalf("opening %s: %v", driver, err)
	}
	t.Cleanup(func() {
		w.Close()
		r.Close()
	})
	return w, d
}

func migrateTo(t *testing.T, db *sql.DB, d *dialect, version int) {
	t.Helper()
	if err := migrate(context.Background(), db, d, version, testLogger(t)); err != nil {
		t.Fatalf("migrating %s to %d: %v", d.name, version, err)
	}
}

// tableExists reports whether a SELECT of cols from table works.
func tableExists(db *sql.DB, table, cols string) error {
	rows, err := db.Query("SELECT " + cols + " FROM " + table + " WHERE 1 = 0")
	if err != nil {
		return err
	}
	return rows.Close()
}

func indexExists(t *testing.T, db *sql.DB, d *dialect, name string) bool {
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

func appliedList(t *testing.T, db *sql.DB) map[int]string {
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
