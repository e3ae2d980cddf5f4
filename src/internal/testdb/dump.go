package testdb

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// Dump returns what the server stores for the database at dsn, for tests
// that prove a secret never reaches the disk in plaintext: for "sqlite" the
// database file with its WAL and shared memory, for "postgres" pg_dump's
// output, for "mysql" mysqldump's. It fails t when there is nothing to scan.
func Dump(t testing.TB, driver, dsn string) []byte {
	t.Helper()
	var out []byte
	switch driver {
	case "sqlite":
		matches, _ := filepath.Glob(dsn + "*")
		for _, f := range matches {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
	case "postgres":
		out = run(t, exec.Command("pg_dump", "--no-owner", dsn))
	case "mysql":
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatalf("testdb: %q is not a go-sql-driver DSN: %v", dsn, err)
		}
		args := []string{"-u" + cfg.User}
		if host, port, err := net.SplitHostPort(cfg.Addr); err == nil {
			args = append(args, "-h", host, "-P", port)
		}
		if cfg.Passwd != "" {
			args = append(args, "-p"+cfg.Passwd)
		}
		out = run(t, exec.Command("mysqldump", append(args, cfg.DBName)...))
	default:
		t.Fatalf("testdb: cannot dump driver %q", driver)
	}
	if len(out) == 0 {
		t.Fatal("nothing to scan")
	}
	return out
}

func run(t testing.TB, cmd *exec.Cmd) []byte {
	t.Helper()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", cmd.Args[0], err)
	}
	return out
}
