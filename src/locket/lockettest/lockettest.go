// Package lockettest runs a real Locket service in-process, on a fresh SQLite database, for tests of the components that hold its locks.
package lockettest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/sqllock"
)

// New starts a Locket service over a lock store on a fresh SQLite database
// in t's temporary directory; both are closed when t ends. Use
// svc.LocalClient() for a client, and the store to change locks behind
// the service's back (as another Locket server would).
func New(t testing.TB) (*locket.Service, *sqllock.Store) {
	t.Helper()
	st, err := sqllock.Open(context.Background(), sqldb.Config{Driver: sqldb.DriverSQLite, DSN: filepath.Join(t.TempDir(), "locket.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := locket.New(context.Background(), locket.Config{Store: st, Logger: testutil.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc, st
}
