package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite runs in WAL mode: one writer connection (so writers queue in the
// pool instead of fighting over the file lock) and a pool of read-only
// connections that read consistent snapshots without blocking the writer.
var sqliteDialect = &Dialect{
	Name:           DriverSQLite,
	Upsert:         upsertOnConflict,
	Classify:       classifySQLite,
	open:           openSQLite,
	lockMigrations: func(context.Context, *sql.Conn) (func(), error) { return func() {}, nil },
}

const (
	sqliteCommon = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(0)&_pragma=synchronous(NORMAL)"
	// The writer begins IMMEDIATE so a transaction takes the write lock up
	// front rather than failing to upgrade a read lock later.
	sqliteWriter = sqliteCommon + "&_pragma=journal_mode(WAL)&_txlock=immediate"
	sqliteReader = sqliteCommon + "&_pragma=query_only(1)&_pragma=mmap_size(0)"
)

func openSQLite(ctx context.Context, cfg Config) (*sql.DB, *sql.DB, error) {
	path, extra, _ := strings.Cut(cfg.DSN, "?")
	if dir := filepath.Dir(strings.TrimPrefix(path, "file:")); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, nil, fmt.Errorf("creating sqlite directory: %w", err)
		}
	}
	dsn := func(params string) string {
		if extra != "" {
			params += "&" + extra
		}
		return path + "?" + params
	}
	w, err := sql.Open("sqlite", dsn(sqliteWriter))
	if err != nil {
		return nil, nil, fmt.Errorf("opening sqlite writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer connects first: it creates the file and switches it to WAL,
	// which the read-only connections cannot do. Switching the journal mode
	// takes an exclusive lock without consulting busy_timeout, so a process
	// opening the same new file at the same moment gets SQLITE_BUSY at once:
	// retry that, bounded.
	if err := pingRetryingBusy(ctx, w, 10*time.Second); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("connecting sqlite writer to %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(sqliteReader))
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("opening sqlite readers: %w", err)
	}
	r.SetMaxOpenConns(cfg.MaxOpenConns)
	r.SetMaxIdleConns(cfg.MaxIdleConns)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, nil, fmt.Errorf("connecting sqlite reader to %s: %w", path, err)
	}
	return w, r, nil
}

func classifySQLite(err error) Kind {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return KindOther
	}
	switch code := se.Code(); {
	case code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return KindUnique
	case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED:
		return KindRetryable
	}
	return KindOther
}

// pingRetryingBusy pings db, retrying while SQLite reports the database busy
// or locked, for at most limit.
func pingRetryingBusy(ctx context.Context, db *sql.DB, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	wait := 5 * time.Millisecond
	for {
		err := db.PingContext(ctx)
		if err == nil || classifySQLite(err) != KindRetryable || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}
