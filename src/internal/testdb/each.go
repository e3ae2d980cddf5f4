package testdb

import (
	"testing"

	"github.com/diego-go/diego/src/internal/sqldb"
)

// Backend is one database server the store tests run against.
type Backend struct {
	Driver string                  // sqldb driver name
	NewDSN func(testing.TB) string // a fresh database on it
}

// Backends are SQLite, PostgreSQL and MySQL/MariaDB.
var Backends = []Backend{
	{sqldb.DriverSQLite, SQLite},
	{sqldb.DriverPostgres, Postgres},
	{sqldb.DriverMySQL, MySQL},
}

// Each runs fn as a parallel subtest per backend, named for its driver and
// given a fresh database.
func Each(t *testing.T, fn func(t *testing.T, driver, dsn string)) {
	for _, b := range Backends {
		t.Run(b.Driver, func(t *testing.T) {
			t.Parallel()
			fn(t, b.Driver, b.NewDSN(t))
		})
	}
}
