package sqldb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
)

// openCheckpointed opens a fresh SQLite database with a table t(n) holding rows
// rows, checkpointing every interval (0: never on its own).
func openCheckpointed(t *testing.T, interval time.Duration, rows int) (*DB, string) {
	t.Helper()
	old := SQLiteCheckpointInterval
	SQLiteCheckpointInterval = interval
	t.Cleanup(func() { SQLiteCheckpointInterval = old })
	path := filepath.Join(t.TempDir(), "cp.db")
	db, err := Open(context.Background(), Config{Driver: DriverSQLite, DSN: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := db.W.ExecContext(ctx, "CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT)"); err != nil {
		t.Fatal(err)
	}
	insert(t, db, 0, rows)
	return db, path
}

func insert(t *testing.T, db *DB, from, to int) {
	t.Helper()
	for n := from; n < to; n++ {
		if _, err := db.W.ExecContext(context.Background(), "INSERT INTO t (n, pad) VALUES (?, ?)", n, "0123456789abcdef0123456789abcdef"); err != nil {
			t.Fatal(err)
		}
	}
}

func walSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func count(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCheckpointTruncatesTheLog: a checkpoint copies the log into the
// database and leaves it empty; every row is still there.
func TestCheckpointTruncatesTheLog(t *testing.T) {
	db, path := openCheckpointed(t, 0, 500)
	if walSize(t, path) == 0 {
		t.Fatal("500 inserts left an empty write-ahead log")
	}
	res, err := db.Checkpoint(context.Background())
	if err != nil || res.Busy || res.Copied != res.Log {
		t.Fatalf("checkpoint = %+v, %v", res, err)
	}
	if n := walSize(t, path); n != 0 {
		t.Errorf("write-ahead log %d bytes after a checkpoint, want 0", n)
	}
	if n := count(t, db); n != 500 {
		t.Errorf("%d rows after the checkpoint, want 500", n)
	}
}

// TestCheckpointWithAReaderInTheLog: a reader still reading from the log
// keeps the checkpoint from truncating it; the checkpoint says so and
// returns (the writer is not held for SQLite's 10 s busy timeout), and the
// next one, once the reader is done, truncates.
func TestCheckpointWithAReaderInTheLog(t *testing.T) {
	db, path := openCheckpointed(t, 0, 200)
	reader, err := db.R.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 200 {
		t.Fatalf("reader saw %d rows, %v", n, err)
	}
	insert(t, db, 200, 300)
	res, err := db.Checkpoint(context.Background())
	if err != nil || !res.Busy {
		t.Fatalf("checkpoint with a reader in the log = %+v, %v; want busy, no error", res, err)
	}
	if err := reader.Commit(); err != nil {
		t.Fatal(err)
	}
	if res, err := db.Checkpoint(context.Background()); err != nil || res.Busy {
		t.Fatalf("checkpoint after the reader ended = %+v, %v", res, err)
	}
	if n := walSize(t, path); n != 0 {
		t.Errorf("write-ahead log %d bytes, want 0", n)
	}
	// the writer's busy timeout is back: a write still succeeds
	insert(t, db, 300, 301)
	if n := count(t, db); n != 301 {
		t.Errorf("%d rows, want 301", n)
	}
}

// TestCheckpointsRunWhileOpen: an open SQLite database checkpoints on its
// own, and Close stops it.
func TestCheckpointsRunWhileOpen(t *testing.T) {
	db, path := openCheckpointed(t, 20*time.Millisecond, 300)
	testutil.Eventually(t, 30*time.Second, "the write-ahead log truncated", func() (bool, string) {
		n := walSize(t, path)
		return n == 0, fmt.Sprintf("log bytes: %d", n)
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
