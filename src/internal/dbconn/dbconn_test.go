package dbconn

import (
	"strings"
	"testing"
)

func TestDSN(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Parts
		want string
	}{
		{"postgres", Parts{Driver: "postgres", Host: "db", Schema: "diego", Username: "u", Password: "p@ss/w"},
			"postgres://u:p%40ss%2Fw@db:5432/diego?sslmode=disable"},
		{"postgres no password, port", Parts{Driver: "postgres", Host: "db", Port: "6432", Schema: "d b", Username: "u"},
			"postgres://u@db:6432/d%20b?sslmode=disable"},
		{"postgres require", Parts{Driver: "postgres", Host: "db", Schema: "diego", Username: "u", RequireSSL: true},
			"postgres://u@db:5432/diego?sslmode=require"},
		{"postgres verify-full", Parts{Driver: "postgres", Host: "db", Schema: "diego", Username: "u", RequireSSL: true, CAFile: "/certs/sql/ca.crt"},
			"postgres://u@db:5432/diego?sslmode=verify-full&sslrootcert=%2Fcerts%2Fsql%2Fca.crt"},
		{"postgres ipv6", Parts{Driver: "postgres", Host: "fd00::1", Schema: "diego", Username: "u"},
			"postgres://u@[fd00::1]:5432/diego?sslmode=disable"},
		{"mysql", Parts{Driver: "mysql", Host: "db", Schema: "diego", Username: "u", Password: "p"},
			"u:p@tcp(db:3306)/diego"},
		{"mysql tls", Parts{Driver: "mysql", Host: "db", Port: "3307", Schema: "diego", Username: "u", RequireSSL: true},
			"u@tcp(db:3307)/diego?tls=true"},
		{"sqlite", Parts{Driver: "sqlite", Schema: "diego", SQLiteDir: "/var/vcap/store/bbs"},
			"/var/vcap/store/bbs/diego.db"},
		{"explicit", Parts{Driver: "postgres", ConnectionString: "postgres://x", Host: "ignored"},
			"postgres://x"},
	} {
		got, err := c.p.DSN()
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func TestDSNErrors(t *testing.T) {
	for _, c := range []struct {
		p    Parts
		want string
	}{
		{Parts{Driver: "postgres"}, "host is required for the postgres driver"},
		{Parts{Driver: "mysql"}, "host is required for the mysql driver"},
		{Parts{Driver: "oracle", Host: "db"}, `driver must be postgres, mysql or sqlite, not "oracle"`},
		{Parts{ConnectionString: "x"}, "driver is required"},
	} {
		if _, err := c.p.DSN(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.p, err, c.want)
		}
	}
}

func TestApply(t *testing.T) {
	driver, dsn := "sqlite", "bbs.db"
	var none *Parts
	if err := none.Apply(&driver, &dsn); err != nil || driver != "sqlite" || dsn != "bbs.db" {
		t.Errorf("nil parts changed the config: %q %q %v", driver, dsn, err)
	}
	p := &Parts{Driver: "mysql", Host: "db", Schema: "diego", Username: "u"}
	if err := p.Apply(&driver, &dsn); err != nil || driver != "mysql" || dsn != "u@tcp(db:3306)/diego" {
		t.Errorf("got %q %q %v", driver, dsn, err)
	}
	if err := (&Parts{Driver: "postgres"}).Apply(&driver, &dsn); err == nil || !strings.HasPrefix(err.Error(), "database: ") {
		t.Errorf("error not named after the field: %v", err)
	}
}
