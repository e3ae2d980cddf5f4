// Package lockettest runs a real Locket service in-process, on a fresh SQLite database, for tests of the components that hold its locks.
package lockettest

import (
	"context"
	"crypto/tls"
	"net"
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
	return NewWithConfig(t, locket.Config{Logger: testutil.Logger()})
}

// NewWithConfig is New with cfg's settings; cfg.Store is set to the fresh
// store.
func NewWithConfig(t testing.TB, cfg locket.Config) (*locket.Service, *sqllock.Store) {
	t.Helper()
	st, err := sqllock.Open(context.Background(), sqldb.Config{Driver: sqldb.DriverSQLite, DSN: filepath.Join(t.TempDir(), "locket.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	svc, err := locket.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc, st
}

// ServeGRPC serves svc over mutual TLS on a loopback port, with the
// certificates of a fresh local bundle, and returns a client connected to
// it and a function stopping the server (called when t ends too).
func ServeGRPC(t testing.TB, svc *locket.Service) (*locket.Conn, func()) {
	t.Helper()
	m := testutil.MutualTLS(t)
	addr, stop := Serve(t, svc, m.Server)
	conn, err := locket.Dial(addr, m.Client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, stop
}

// Serve serves svc over gRPC with serverTLS on a loopback port and returns
// its address and a function stopping the server (called when t ends too).
func Serve(t testing.TB, svc *locket.Service, serverTLS *tls.Config) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := locket.NewGRPCServer(svc, serverTLS)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), srv.Stop
}
