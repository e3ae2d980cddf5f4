package testdb_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/diego-go/diego/src/internal/testdb"
	_ "modernc.org/sqlite"
)

func TestSQLitePathIsFreshAndWritable(t *testing.T) {
	path := testdb.SQLite(t)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("%s already exists (err %v)", path, err)
	}
	execAll(t, "sqlite", path, "CREATE TABLE t (x INTEGER)")
}

// execAll opens dsn with the database/sql driver, runs stmts in order and
// closes the connection, failing t on any error.
func execAll(t *testing.T, driver, dsn string, stmts ...string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s on %s: %v", stmt, dsn, err)
		}
	}
}

// TestServerDatabasesAreCreatedAndDropped checks each helper returns a
// usable database that is gone after the test that asked for it.
func TestServerDatabasesAreCreatedAndDropped(t *testing.T) {
	for _, tc := range []struct {
		name, driver string
		newDSN       func(testing.TB) string
		admin        func(t *testing.T) (string, string) // admin DSN, query counting databases named ?
	}{
		{"postgres", "pgx", testdb.Postgres, func(t *testing.T) (string, string) {
			return testdb.PostgresServer(), "SELECT COUNT(*) FROM pg_database WHERE datname = $1"
		}},
		{"mysql", "mysql", testdb.MySQL, func(t *testing.T) (string, string) {
			return testdb.MySQLServer(), "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dbName string
			t.Run("use", func(t *testing.T) {
				dsn := tc.newDSN(t)
				execAll(t, tc.driver, dsn, "CREATE TABLE t (x INTEGER)")
				dbName = databaseName(t, tc.driver, dsn)
			})
			adminDSN, count := tc.admin(t)
			admin, err := sql.Open(tc.driver, adminDSN)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			var n int
			if err := admin.QueryRowContext(context.Background(), count, dbName).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("database %s still exists after its test finished", dbName)
			}
		})
	}
}

// TestDumpShowsWhatIsStored writes a marker into a table of each kind of
// database and finds it, with the table's name, in the dump.
func TestDumpShowsWhatIsStored(t *testing.T) {
	for _, tc := range []struct {
		driver, sqlDriver string
		newDSN            func(testing.TB) string
	}{
		{"sqlite", "sqlite", testdb.SQLite},
		{"postgres", "pgx", testdb.Postgres},
		{"mysql", "mysql", testdb.MySQL},
	} {
		t.Run(tc.driver, func(t *testing.T) {
			dsn := tc.newDSN(t)
			execAll(t, tc.sqlDriver, dsn, "CREATE TABLE marked (v VARCHAR(64))", "INSERT INTO marked (v) VALUES ('MARKER-4d2f')")
			out := string(testdb.Dump(t, tc.driver, dsn))
			for _, want := range []string{"marked", "MARKER-4d2f"} {
				if !strings.Contains(out, want) {
					t.Errorf("dump lacks %q", want)
				}
			}
		})
	}
}

func databaseName(t *testing.T, driver, dsn string) string {
	if driver == "mysql" {
		c, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		return c.DBName
	}
	i := strings.LastIndex(dsn, "/")
	name, _, _ := strings.Cut(dsn[i+1:], "?")
	return name
}

// TestUnreachableServerFailsLoudly runs the helpers in a child process
// pointed at closed ports: the child test must fail (not skip) and say how
// to start the server.
func TestUnreachableServerFailsLoudly(t *testing.T) {
	if which := os.Getenv("TESTDB_CHILD"); which != "" {
		if which == "postgres" {
			testdb.Postgres(t)
		} else {
			testdb.MySQL(t)
		}
		return
	}
	for _, which := range []string{"postgres", "mysql"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnreachableServerFailsLoudly$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTDB_CHILD="+which,
			testdb.PostgresEnv+"=postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2",
			testdb.MySQLEnv+"=root@tcp(127.0.0.1:1)/?timeout=2s")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%s: child test passed against a closed port; output:\n%s", which, out)
			continue
		}
		for _, want := range []string{"--- FAIL", "unreachable", "start it with"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: child output lacks %q:\n%s", which, want, out)
			}
		}
		if strings.Contains(string(out), "--- SKIP") {
			t.Errorf("%s: child skipped instead of failing", which)
		}
	}
}
