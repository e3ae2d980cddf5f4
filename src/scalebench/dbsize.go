package scalebench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" database/sql driver
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// DatabaseSize returns the bytes the BBS database occupies, for the
// BBS's database_driver and database_connection_string: for sqlite the
// file plus its -wal and -shm files, for postgres pg_database_size of the
// connected database, for mysql (MySQL or MariaDB) the data and index
// length of its tables in information_schema, after ANALYZE TABLE on each
// (InnoDB's figures are statistics, stale until refreshed; analysis
// samples pages and is cheap).
func DatabaseSize(ctx context.Context, driver, dsn string) (int64, error) {
	switch driver {
	case "sqlite":
		return sqliteSize(dsn)
	case "postgres":
		return querySize(ctx, "pgx", dsn, `SELECT pg_database_size(current_database())`)
	case "mysql":
		return mysqlSize(ctx, dsn)
	default:
		return 0, fmt.Errorf("database size: unknown driver %q", driver)
	}
}

// sqliteSize sums the database file and its WAL and shared-memory files.
func sqliteSize(dsn string) (int64, error) {
	path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	var total int64
	for i, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			if i > 0 && errors.Is(err, fs.ErrNotExist) {
				continue // no WAL yet, or checkpointed and removed
			}
			return 0, fmt.Errorf("database size: %w", err)
		}
		total += st.Size()
	}
	return total, nil
}

// querySize runs a one-number query on a one-connection pool.
func querySize(ctx context.Context, sqlDriver, dsn, query string) (int64, error) {
	db, err := sql.Open(sqlDriver, dsn)
	if err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var n sql.NullInt64
	if err := db.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return n.Int64, nil
}

// mysqlSize analyzes every table of the connected database, then sums
// their data and index lengths.
func mysqlSize(ctx context.Context, dsn string) (int64, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var tables []string
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`)
	if err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, fmt.Errorf("database size: %w", err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	for _, t := range tables {
		// ANALYZE answers with a result set (table, op, msg_type, msg_text).
		r, err := db.QueryContext(ctx, "ANALYZE TABLE `"+strings.ReplaceAll(t, "`", "``")+"`")
		if err != nil {
			return 0, fmt.Errorf("database size: analyzing %s: %w", t, err)
		}
		for r.Next() {
		}
		r.Close()
	}
	var n sql.NullInt64
	err = db.QueryRowContext(ctx, `SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE()`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return n.Int64, nil
}
