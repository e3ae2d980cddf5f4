package sqlstore

import (
	"context"
	"log/slog"
	"testing"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
)

// eachBackend runs fn as a parallel subtest per database.
func eachBackend(t *testing.T, fn func(t *testing.T, driver, dsn string)) { testdb.Each(t, fn) }

func testLogger(testing.TB) *slog.Logger { return testutil.Logger() }

// opener adapts Open to the contract suite.
func opener(driver string, newDSN func(testing.TB) string) storetest.Opener {
	return storetest.PerTest(newDSN, func(ctx context.Context, dsn string, ring *keyring.Ring) (store.Store, error) {
		return Open(ctx, Config{Driver: driver, DSN: dsn}, ring, slog.New(slog.DiscardHandler))
	})
}

func mustOpen(t testing.TB, driver, dsn string, ring *keyring.Ring) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{Driver: driver, DSN: dsn}, ring, testLogger(t))
	if err != nil {
		t.Fatalf("Open(%s): %v", driver, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
