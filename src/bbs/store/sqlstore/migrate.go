package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrSchemaTooNew: the database was migrated by a newer binary.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this binary")

// migration is one forward-only schema step with per-dialect statements.
type migration struct {
	version int
	name    string
	stmts   map[string][]string // dialect name -> statements, run in order
}

// migrations lists every migration in version order. Append only.
var migrations = []migration{
	migration0001Initial,
	migration0002FilterIndexes,
}

// latestVersion is the newest schema this binary knows.
func latestVersion() int { return migrations[len(migrations)-1].version }

var createSchemaMigrations = map[string]string{
	DriverSQLite:   `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
	DriverPostgres: `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL)`,
	DriverMySQL:    `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
}

// migrate applies, in order, every known migration up to and including
// version target that the database has not recorded yet. It fails with
// ErrSchemaTooNew when the database records a version this binary lacks.
func migrate(ctx context.Context, db *sql.DB, d *dialect, target int, log *slog.Logger) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("acquiring connection: %w", err)
	}
	defer conn.Close()
	unlock, err := d.lockMigrations(ctx, conn)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := conn.ExecContext(ctx, createSchemaMigrations[d.name]); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	known := make(map[int]bool, len(migrations))
	for _, m := range migrations {
		known[m.version] = true
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("%w: it is at schema version %d but this binary knows versions up to %d; run a newer BBS",
				ErrSchemaTooNew, maxKey(applied), latestVersion())
		}
	}
	for _, m := range migrations {
		if m.version > target || applied[m.version] {
			continue
		}
		start := time.Now()
		ran, err := applyMigration(ctx, conn, d, m)
		if err != nil {
			return fmt.Errorf("migration %04d %s: %w", m.version, m.name, err)
		}
		if ran {
			log.Info("applied schema migration", "version", m.version, "name", m.name, "duration", time.Since(start))
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, conn *sql.Conn) (map[int]bool, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	return applied, nil
}

// applyMigration runs m and records it in one transaction, unless another
// process recorded it first (SQLite has no migration lock, but its
// IMMEDIATE transactions serialise this check). MySQL commits DDL
// implicitly, so there a failed migration can leave earlier statements
// applied; the error names the migration.
func applyMigration(ctx context.Context, conn *sql.Conn, d *dialect, m migration) (ran bool, err error) {
	stmts, ok := m.stmts[d.name]
	if !ok {
		return false, fmt.Errorf("no statements for %s", d.name)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	var n int
	if err := tx.QueryRowContext(ctx, d.q("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
		return false, fmt.Errorf("checking schema_migrations: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	for i, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return false, fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.q("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		m.version, m.name, time.Now().UnixNano()); err != nil {
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
