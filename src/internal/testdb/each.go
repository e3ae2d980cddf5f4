package testdb

import (
	"testing"

	"github.com/diego-go/diego/src/internal/sqldb"
)

// Each runs fn as a parallel subtest per database (SQLite, PostgreSQL,
// MySQL/MariaDB), named for its driver and given a fresh database.
func Each(t *testing.T, fn func(t *testing.T, driver, dsn string)) {
	for _, b := range []struct {
		driver string
		newDSN func(testing.TB) string
	}{
		{sqldb.DriverSQLite, SQLite},
		{sqldb.DriverPostgres, Postgres},
		{sqldb.DriverMySQL, MySQL},
	} {
		t.Run(b.driver, func(t *testing.T) {
			t.Parallel()
			fn(t, b.driver, b.newDSN(t))
		})
	}
}
