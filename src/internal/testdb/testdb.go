// Package testdb gives each test a fresh database on the local SQLite, PostgreSQL or MySQL/MariaDB server, and fails the test (never skips it) when the server is unreachable.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Environment variables that point the helpers at other servers.
const (
	PostgresEnv = "DIEGO_TEST_POSTGRES_URL"
	MySQLEnv    = "DIEGO_TEST_MYSQL_DSN"
)

// Defaults: the local servers with trust / empty-password auth.
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	DefaultMySQLDSN    = "root@tcp(127.0.0.1:3306)/"
)

const connectTimeout = 10 * time.Second

// SQLite returns the path of a database file inside t.TempDir(); the file
// does not exist yet.
func SQLite(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "bbs.sqlite")
}

// Postgres creates a fresh database on the PostgreSQL server named by
// $DIEGO_TEST_POSTGRES_URL (default DefaultPostgresURL) and returns a URL DSN
// for it. The database is dropped in t.Cleanup. An unreachable server fails
// the test with instructions for starting it: a CI run without a database
// must fail loudly rather than skip.
func Postgres(t testing.TB) string {
	t.Helper()
	base := PostgresServer()
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("testdb: %s=%q must be a postgres:// URL (err: %v)", PostgresEnv, base, err)
	}
	admin := openAdmin(t, "pgx", base, "PostgreSQL", postgresHint)
	name := uniqueName(t)
	// FORCE terminates connections a test forgot to close.
	createDatabase(t, admin, "PostgreSQL", name,
		`CREATE DATABASE `+name+` ENCODING 'UTF8' TEMPLATE template0`,
		`DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	u.Path = "/" + name
	return u.String()
}

// MySQL creates a fresh utf8mb4 database on the MySQL/MariaDB server named by
// $DIEGO_TEST_MYSQL_DSN (default DefaultMySQLDSN, go-sql-driver format) and
// returns a DSN for it. The database is dropped in t.Cleanup. An
// unreachable server fails the test, as for Postgres.
func MySQL(t testing.TB) string {
	t.Helper()
	base := MySQLServer()
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("testdb: %s=%q is not a go-sql-driver DSN: %v", MySQLEnv, base, err)
	}
	cfg.DBName = ""
	admin := openAdmin(t, "mysql", cfg.FormatDSN(), "MySQL/MariaDB", mysqlHint)
	name := uniqueName(t)
	createDatabase(t, admin, "MySQL", name,
		"CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
		"DROP DATABASE IF EXISTS `"+name+"`")
	cfg.DBName = name
	return cfg.FormatDSN()
}

// PostgresServer is the PostgreSQL server URL the helpers use:
// $DIEGO_TEST_POSTGRES_URL, or DefaultPostgresURL when it is unset.
func PostgresServer() string { return envOr(PostgresEnv, DefaultPostgresURL) }

// MySQLServer is the MySQL/MariaDB server DSN the helpers use:
// $DIEGO_TEST_MYSQL_DSN, or DefaultMySQLDSN when it is unset.
func MySQLServer() string { return envOr(MySQLEnv, DefaultMySQLDSN) }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// createDatabase runs create on admin, failing t when it fails, and drops
// the database with drop in t.Cleanup; admin is closed after that.
func createDatabase(t testing.TB, admin *sql.DB, what, name, create, drop string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if _, err := admin.ExecContext(ctx, create); err != nil {
		admin.Close()
		t.Fatalf("testdb: creating %s database %s: %v", what, name, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, drop); err != nil {
			t.Errorf("testdb: dropping %s database %s: %v", what, name, err)
		}
	})
}

const (
	postgresHint = "start it with `sudo service postgresql start` (it must accept user postgres without a password on 127.0.0.1:5432), or point " + PostgresEnv + " at another server"
	mysqlHint    = "start it with `sudo service mariadb start` (it must accept user root with an empty password on 127.0.0.1:3306), or point " + MySQLEnv + " at another server"
)

// openAdmin connects to the server's maintenance database and fails the test
// with hint when the server cannot be reached.
func openAdmin(t testing.TB, driver, dsn, what, hint string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("testdb: opening %s connection: %v", what, err)
	}
	db.SetMaxOpenConns(2)
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		t.Fatalf("testdb: %s is unreachable (%s): %v\n%s", what, redact(dsn), err, hint)
	}
	return db
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueName builds a database name from the test name plus random bytes,
// short enough for PostgreSQL's 63-byte and MySQL's 64-byte limits.
func uniqueName(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testdb: random name: %v", err)
	}
	slug := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(slug) > 36 {
		slug = slug[len(slug)-36:]
	}
	return "diego_test_" + hex.EncodeToString(b[:]) + "_" + slug
}

// redact hides a password in a DSN for error messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
		return u.String()
	}
	if cfg, err := mysql.ParseDSN(dsn); err == nil {
		if cfg.Passwd != "" {
			cfg.Passwd = "xxx"
		}
		return cfg.FormatDSN()
	}
	return fmt.Sprintf("%.12s...", dsn)
}
