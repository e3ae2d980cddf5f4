package sqlstore

import (
	"context"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/bbs/store/storetest"
)

func TestOpenRejectsInvalidConfig(t *testing.T) {
	_, err := Open(context.Background(), Config{Driver: "mongodb", DSN: "x"}, storetest.NewRing(t, "k1"), nil)
	if err == nil || !strings.Contains(err.Error(), "want one of sqlite, postgres, mysql") {
		t.Errorf("Open(mongodb) = %v, want the validation error", err)
	}
	_, err = Open(context.Background(), Config{Driver: "sqlite", DSN: "x"}, nil, nil)
	if err == nil {
		t.Error("Open with a nil ring succeeded")
	}
}

func TestSQLiteCreatesParentDirectory(t *testing.T) {
	path := t.TempDir() + "/nested/dir/bbs.db"
	s := mustOpen(t, DriverSQLite, path, storetest.NewRing(t, "k1"))
	var mode string
	if err := s.w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := s.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("reader journal_mode = %q, %v; want wal", mode, err)
	}
	if _, err := s.r.Exec("CREATE TABLE nope (x INTEGER)"); err == nil {
		t.Error("a reader connection could write")
	}
}
