package sqllock

import (
	"log/slog"
	"testing"

	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
)

// eachBackend runs fn as a parallel subtest per database.
func eachBackend(t *testing.T, fn func(t *testing.T, driver, dsn string)) { testdb.Each(t, fn) }

func testLogger(testing.TB) *slog.Logger { return testutil.Logger() }
