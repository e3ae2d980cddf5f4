package testdb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Dump is everything the database at dsn stores, as bytes to scan for
// plaintext: SQLite's file with its WAL and shared memory, pg_dump's or
// mysqldump's output.
func Dump(t testing.TB, driver, dsn string) []byte {
	t.Helper()
	switch driver {
	case "sqlite":
		var all []byte
		matches, _ := filepath.Glob(dsn + "*") // the database, its WAL and shared memory
		for _, f := range matches {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		if len(all) == 0 {
			t.Fatal("nothing to scan")
		}
		return all
	case "postgres":
		out, err := exec.Command("pg_dump", "--no-owner", dsn).Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		if !bytes.Contains(out, []byte("actual_lrps")) {
			t.Fatal("pg_dump output has no actual_lrps table")
		}
		return out
	case "mysql":
		db := dsn[strings.LastIndex(dsn, "/")+1:]
		if i := strings.IndexByte(db, '?'); i >= 0 {
			db = db[:i]
		}
		out, err := exec.Command("mysqldump", "-h", "127.0.0.1", "-uroot", db).Output()
		if err != nil {
			t.Fatalf("mysqldump: %v", err)
		}
		return out
	}
	t.Fatalf("testdb.Dump: unknown driver %q", driver)
	return nil
}
