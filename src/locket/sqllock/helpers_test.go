package sqllock

import (
	"log/slog"
	"os"
	"testing"

	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/internal/testdb"
)

// eachBackend runs fn as a parallel subtest per database.
func eachBackend(t *testing.T, fn func(t *testing.T, driver, dsn string)) {
	for _, b := range []struct {
		driver string
		newDSN func(testing.TB) string
	}{
		{sqldb.DriverSQLite, testdb.SQLite},
		{sqldb.DriverPostgres, testdb.Postgres},
		{sqldb.DriverMySQL, testdb.MySQL},
	} {
		t.Run(b.driver, func(t *testing.T) {
			t.Parallel()
			fn(t, b.driver, b.newDSN(t))
		})
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() || os.Getenv("DIEGO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
