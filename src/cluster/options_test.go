package cluster

import "testing"

func TestDatabaseFor(t *testing.T) {
	d, dsn, err := databaseFor("mysql://root:pw@127.0.0.1:3306/diego", "")
	if err != nil || d != "mysql" || dsn != "root:pw@tcp(127.0.0.1:3306)/diego?parseTime=true" {
		t.Fatalf("mysql: %s %s %v", d, dsn, err)
	}
	d, dsn, err = databaseFor("", "/x/bbs.db")
	if err != nil || d != "sqlite" || dsn != "/x/bbs.db" {
		t.Fatalf("sqlite: %s %s %v", d, dsn, err)
	}
}

// BenchmarkUpReady measures `diego up` from start to ready (3 cells, SQLite,
// process backend; binaries already built), then desires 100 instances of
// the sample app and measures until all are RUNNING and answering HTTP.
