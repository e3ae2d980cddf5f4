package locket

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket/sqllock"
)

// TestHandshakeTimeout: a connection that never sends a TLS ClientHello is
// closed by the server once the handshake timeout passes, while a proper
// client is served meanwhile.
func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	st, err := sqllock.Open(context.Background(), sqldb.Config{Driver: sqldb.DriverSQLite, DSN: filepath.Join(t.TempDir(), "l.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := newService(t, Config{Store: st})
	m := testutil.MutualTLS(t)
	srv := NewGRPCServerWithLimits(svc, m.Server, ServerLimits{HandshakeTimeout: time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)

	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	closed := make(chan error, 1)
	go func() {
		// Generous: the server's 1 s handshake timeout must close it
		// long before; gRPC's own default would keep it for 120 s.
		silent.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := io.ReadAll(silent)
		closed <- err
	}()

	conn, err := Dial(ln.Addr().String(), m.Client)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := conn.Lock(ctx, lockReq("bbs", "bbs-0", models.LOCK, 10)); err != nil {
		t.Fatalf("a proper client was not served while a silent connection was open: %v", err)
	}
	err = <-closed
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the silent connection was still open after 30 s: the server has no handshake timeout")
	}
	// io.ReadAll returns nil at EOF; a reset is also the server closing it.
	t.Logf("silent connection closed by the server (read error: %v)", err)
}
