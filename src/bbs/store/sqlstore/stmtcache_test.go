package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/diego-go/diego/src/internal/testdb"
)

// A cached statement is prepared once and reused; past the bound, queries
// still answer, unprepared; a closed cache runs them unprepared too.
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", testdb.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := db.Exec("INSERT INTO t VALUES (?, ?)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	c := newStmtCache(db)
	read := func(q string, k int) string {
		t.Helper()
		var v string
		if err := c.queryRow(ctx, q, k).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v
	}
	q := "SELECT v FROM t WHERE k = ?"
	if read(q, 1) != "v1" || read(q, 2) != "v2" {
		t.Fatal("wrong rows")
	}
	first := c.m[q]
	if first == nil || len(c.m) != 1 {
		t.Fatalf("cache %v: want the one statement", c.m)
	}
	read(q, 0)
	if c.m[q] != first {
		t.Fatal("the statement was prepared again")
	}
	for i := range maxCachedStmts + 10 {
		if got := read(fmt.Sprintf("SELECT v FROM t WHERE k = ? AND %d = %d", i, i), 2); got != "v2" {
			t.Fatalf("query %d: %q", i, got)
		}
	}
	if len(c.m) != maxCachedStmts {
		t.Fatalf("%d statements cached, want the bound %d", len(c.m), maxCachedStmts)
	}
	rows, err := c.query(ctx, "SELECT v FROM t WHERE k >= ? ORDER BY k", 1)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if n != 2 {
		t.Fatalf("uncached query: %d rows, want 2", n)
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	if read(q, 1) != "v1" || len(c.m) != 0 {
		t.Fatal("a closed cache must still answer, unprepared")
	}
	if _, err := c.query(ctx, "SELECT nope FROM t"); err == nil {
		t.Fatal("a bad query prepared without error")
	}
}

// In a transaction on a one-connection pool (SQLite's writer), a statement
// not cached yet runs unprepared rather than wait for the connection the
// transaction holds; it is prepared once the transaction ends, and the
// next transaction uses it.
func TestStmtCacheInTxDoesNotWaitForItsOwnConnection(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", testdb.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	c := newStmtCache(db)
	t.Cleanup(func() { c.close() })
	q := "INSERT INTO t VALUES (?, ?)"
	insert := func(k int) (prepared bool) {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		st := c.inTx(ctx, tx, q)
		if st != nil {
			_, err = st.ExecContext(ctx, k, "v")
		} else {
			_, err = tx.ExecContext(ctx, q, k, "v")
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		return st != nil
	}
	if insert(1) {
		t.Fatal("the first use came prepared")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		c.mu.Lock()
		ready := c.m[q] != nil
		c.mu.Unlock()
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the statement was not prepared within a minute of the transaction's end")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !insert(2) {
		t.Fatal("the next transaction did not use the prepared statement")
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d rows (%v), want 2", n, err)
	}
}
