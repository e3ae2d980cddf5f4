package scalebench

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/internal/testdb"
)

// TestDatabaseSizeGrows fills a table on each real database and checks
// the reported size grows by at least the bytes written.
func TestDatabaseSizeGrows(t *testing.T) {
	for _, c := range []struct {
		driver string
		dsn    func(testing.TB) string
	}{
		{"sqlite", testdb.SQLite},
		{"postgres", testdb.Postgres},
		{"mysql", testdb.MySQL},
	} {
		t.Run(c.driver, func(t *testing.T) {
			ctx := context.Background()
			dsn := c.dsn(t)
			db, err := sqldb.Open(ctx, sqldb.Config{Driver: c.driver, DSN: dsn, MaxOpenConns: 2}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			exec := func(q string, args ...any) {
				t.Helper()
				if err := db.InTx(ctx, func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec("CREATE TABLE filler (id INTEGER PRIMARY KEY, payload TEXT)")
			before, err := DatabaseSize(ctx, c.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if before <= 0 {
				t.Fatalf("size of a database with a table = %d, want > 0", before)
			}
			const rows, size = 2000, 1000
			payload := strings.Repeat("x", size)
			insert := "INSERT INTO filler (id, payload) VALUES (?, ?)"
			if c.driver == "postgres" {
				insert = "INSERT INTO filler (id, payload) VALUES ($1, $2)"
			}
			err = db.InTx(ctx, func(tx *sql.Tx) error {
				for i := range rows {
					// Vary the payload so no engine compresses it away.
					if _, err := tx.ExecContext(ctx, insert, i, payload[:size-4]+strings.Repeat(string(rune('a'+i%26)), 4)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			after, err := DatabaseSize(ctx, c.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if after-before < rows*size {
				t.Errorf("size %d -> %d after writing %d bytes: want it to grow by at least that", before, after, rows*size)
			}
		})
	}
}

func TestDatabaseSizeErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := DatabaseSize(ctx, "oracle", "x"); err == nil {
		t.Error("an unknown driver succeeded")
	}
	if _, err := DatabaseSize(ctx, "sqlite", t.TempDir()+"/missing.sqlite"); err == nil {
		t.Error("a missing sqlite file succeeded")
	}
}
