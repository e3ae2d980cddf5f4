package sqldb

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Driver names accepted in Config.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
	DriverMySQL    = "mysql"
)

// Pool defaults applied to zero Config fields.
const (
	DefaultMaxOpenConns = 20
	DefaultMaxIdleConns = 10
)

// Config selects the database and sizes the connection pool.
type Config struct {
	// Driver is "sqlite", "postgres" or "mysql" (MySQL or MariaDB).
	Driver string
	// DSN is a file path for sqlite (its directory is created; extra
	// "?key=value" parameters are passed to modernc.org/sqlite), a
	// postgres:// URL or key=value string for postgres, and a go-sql-driver
	// DSN ("user:pass@tcp(host:3306)/db") for mysql.
	DSN string
	// MaxOpenConns bounds the pool (for sqlite: the reader pool; sqlite
	// always has exactly one writer connection). 0 means DefaultMaxOpenConns.
	MaxOpenConns int
	// MaxIdleConns bounds idle connections kept open. 0 means
	// DefaultMaxIdleConns (capped at MaxOpenConns).
	MaxIdleConns int
}

func validDrivers() string {
	return strings.Join([]string{DriverSQLite, DriverPostgres, DriverMySQL}, ", ")
}

// Validate reports the first problem with c. Zero pool sizes are valid and
// mean "use the default".
func (c Config) Validate() error {
	switch c.Driver {
	case "":
		return fmt.Errorf("sqldb: database driver is empty; want one of %s", validDrivers())
	case DriverSQLite, DriverPostgres, DriverMySQL:
	default:
		return fmt.Errorf("sqldb: unknown database driver %q; want one of %s", c.Driver, validDrivers())
	}
	if strings.TrimSpace(c.DSN) == "" {
		return fmt.Errorf("sqldb: %s data source name is empty", c.Driver)
	}
	switch c.Driver {
	case DriverSQLite:
		path, _, _ := strings.Cut(c.DSN, "?")
		if path == "" || strings.Contains(path, ":memory:") || strings.Contains(c.DSN, "mode=memory") {
			return errors.New("sqldb: sqlite needs a database file path (in-memory databases cannot be shared by the writer and reader connections)")
		}
	case DriverPostgres:
		if _, err := pgx.ParseConfig(c.DSN); err != nil {
			return fmt.Errorf("sqldb: invalid postgres data source name: %w", err)
		}
	case DriverMySQL:
		if _, err := mysql.ParseDSN(c.DSN); err != nil {
			return fmt.Errorf("sqldb: invalid mysql data source name: %w", err)
		}
	}
	if c.MaxOpenConns < 0 {
		return fmt.Errorf("sqldb: max open connections is %d; want 0 (default) or more", c.MaxOpenConns)
	}
	if c.MaxIdleConns < 0 {
		return fmt.Errorf("sqldb: max idle connections is %d; want 0 (default) or more", c.MaxIdleConns)
	}
	if c.MaxOpenConns > 0 && c.MaxIdleConns > c.MaxOpenConns {
		return fmt.Errorf("sqldb: max idle connections (%d) exceeds max open connections (%d)", c.MaxIdleConns, c.MaxOpenConns)
	}
	return nil
}

// WithDefaults fills zero pool sizes.
func (c Config) WithDefaults() Config {
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = DefaultMaxOpenConns
	}
	if c.MaxIdleConns == 0 {
		c.MaxIdleConns = min(DefaultMaxIdleConns, c.MaxOpenConns)
	}
	return c
}
