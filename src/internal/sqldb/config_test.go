package sqldb

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // substring of the error; "" means valid
	}{
		{Config{Driver: "sqlite", DSN: "/var/vcap/store/bbs.db"}, ""},
		{Config{Driver: "postgres", DSN: "postgres://u@db:5432/bbs?sslmode=disable", MaxOpenConns: 50, MaxIdleConns: 5}, ""},
		{Config{Driver: "mysql", DSN: "u:p@tcp(db:3306)/bbs"}, ""},
		{Config{Driver: "", DSN: "x"}, "driver is empty; want one of sqlite, postgres, mysql"},
		{Config{Driver: "oracle", DSN: "x"}, `unknown database driver "oracle"; want one of sqlite, postgres, mysql`},
		{Config{Driver: "postgres"}, "data source name is empty"},
		{Config{Driver: "sqlite", DSN: ":memory:"}, "needs a database file path"},
		{Config{Driver: "sqlite", DSN: "file:x?mode=memory"}, "needs a database file path"},
		{Config{Driver: "mysql", DSN: "not a dsn"}, "invalid mysql data source name"},
		{Config{Driver: "postgres", DSN: "postgres://[bad"}, "invalid postgres data source name"},
		{Config{Driver: "sqlite", DSN: "x.db", MaxOpenConns: -1}, "max open connections is -1"},
		{Config{Driver: "sqlite", DSN: "x.db", MaxIdleConns: -1}, "max idle connections is -1"},
		{Config{Driver: "sqlite", DSN: "x.db", MaxOpenConns: 2, MaxIdleConns: 3}, "exceeds max open connections"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Validate(%+v) = %v, want nil", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Validate(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Driver: "sqlite", DSN: "x"}.WithDefaults()
	if c.MaxOpenConns != DefaultMaxOpenConns || c.MaxIdleConns != DefaultMaxIdleConns {
		t.Errorf("defaults = %d/%d, want %d/%d", c.MaxOpenConns, c.MaxIdleConns, DefaultMaxOpenConns, DefaultMaxIdleConns)
	}
	c = Config{Driver: "sqlite", DSN: "x", MaxOpenConns: 4}.WithDefaults()
	if c.MaxIdleConns != 4 {
		t.Errorf("idle default with 4 open = %d, want 4", c.MaxIdleConns)
	}
}

func TestMySQLDSN(t *testing.T) {
	got, err := mysqlDSN("root@tcp(127.0.0.1:3306)/bbs")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"parseTime=true", "clientFoundRows=true", "interpolateParams=true", "collation=utf8mb4_bin"} {
		if !strings.Contains(got, want) {
			t.Errorf("mysqlDSN = %q, missing %s", got, want)
		}
	}
}

func TestRebindDollar(t *testing.T) {
	got := rebindDollar(`SELECT '?', "a?" FROM t WHERE a = ? AND b IN (?, ?)`)
	want := `SELECT '?', "a?" FROM t WHERE a = $1 AND b IN ($2, $3)`
	if got != want {
		t.Errorf("rebindDollar = %q, want %q", got, want)
	}
}
