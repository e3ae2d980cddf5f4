package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrSchemaTooNew: the database was migrated by a newer binary.
var ErrSchemaTooNew = errors.New("sqldb: database schema is newer than this binary")

// Migration is one forward-only schema step with per-dialect statements.
type Migration struct {
	Version int
	Name    string
	Stmts   map[string][]string // driver name -> statements, run in order
}

// Schema is one component's list of migrations and the table recording
// which of them a database has applied. Components sharing a database keep
// separate tables, so each knows only its own versions.
type Schema struct {
	// Table records the applied versions (e.g. "schema_migrations").
	Table string
	// Owner names the component in errors ("BBS", "Locket").
	Owner string
	// Migrations in version order, 1, 2, 3, ... Append only.
	Migrations []Migration
}

// Latest is the newest version s knows.
func (s Schema) Latest() int { return s.Migrations[len(s.Migrations)-1].Version }

func (s Schema) createTable(driver string) string {
	switch driver {
	case DriverPostgres:
		return `CREATE TABLE IF NOT EXISTS ` + s.Table + ` (version BIGINT PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL)`
	case DriverMySQL:
		return `CREATE TABLE IF NOT EXISTS ` + s.Table + ` (version BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`
	default:
		return `CREATE TABLE IF NOT EXISTS ` + s.Table + ` (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`
	}
}

// Migrate applies s up to its latest version; see MigrateTo.
func (db *DB) Migrate(ctx context.Context, s Schema) error {
	return db.MigrateTo(ctx, s, s.Latest())
}

// MigrateTo applies, in order, every migration of s up to and including
// version target that the database has not recorded yet, each in one
// transaction with its record. It fails with ErrSchemaTooNew when the
// database records a version s lacks.
func (db *DB) MigrateTo(ctx context.Context, s Schema, target int) error {
	d, log := db.Dialect, db.Log
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return fmt.Errorf("acquiring connection: %w", err)
	}
	defer conn.Close()
	unlock, err := d.lockMigrations(ctx, conn)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := conn.ExecContext(ctx, s.createTable(d.Name)); err != nil {
		return fmt.Errorf("creating %s: %w", s.Table, err)
	}
	applied, err := appliedVersions(ctx, conn, s.Table)
	if err != nil {
		return err
	}
	known := make(map[int]bool, len(s.Migrations))
	for _, m := range s.Migrations {
		known[m.Version] = true
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("%w: %s records %s schema version %d but this binary knows versions up to %d; run a newer %s",
				ErrSchemaTooNew, s.Table, s.Owner, maxKey(applied), s.Latest(), s.Owner)
		}
	}
	for _, m := range s.Migrations {
		if m.Version > target || applied[m.Version] {
			continue
		}
		start := time.Now()
		ran, err := applyMigration(ctx, conn, d, s.Table, m)
		if err != nil {
			return fmt.Errorf("%s migration %04d %s: %w", s.Owner, m.Version, m.Name, err)
		}
		if ran {
			log.Info("applied schema migration", "schema", s.Owner, "version", m.Version, "name", m.Name, "duration", time.Since(start))
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, conn *sql.Conn, table string) (map[int]bool, error) {
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM "+table)
	err = Rows(rows, err, func(scan func(...any) error) error {
		var v int
		err := scan(&v)
		applied[v] = true
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", table, err)
	}
	return applied, nil
}

// applyMigration runs m and records it in one transaction, unless another
// process recorded it first (SQLite has no migration lock, but its
// IMMEDIATE transactions serialise this check). MySQL commits DDL
// implicitly, so there a failed migration can leave earlier statements
// applied; the error names the migration.
func applyMigration(ctx context.Context, conn *sql.Conn, d *Dialect, table string, m Migration) (ran bool, err error) {
	stmts, ok := m.Stmts[d.Name]
	if !ok {
		return false, fmt.Errorf("no statements for %s", d.Name)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	var n int
	if err := tx.QueryRowContext(ctx, d.Q("SELECT COUNT(*) FROM "+table+" WHERE version = ?"), m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("checking %s: %w", table, err)
	}
	if n > 0 {
		return false, nil
	}
	for i, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return false, fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.Q("INSERT INTO "+table+" (version, name, applied_at) VALUES (?, ?, ?)"),
		m.Version, m.Name, time.Now().UnixNano()); err != nil {
		return false, fmt.Errorf("recording: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

func maxKey(m map[int]bool) int {
	out := 0
	for k := range m {
		out = max(out, k)
	}
	return out
}
