package daemon

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/internal/faultproxy"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/pki"
)

// locketConfig is a Locket config on a free 127.0.0.1 port with fresh certificates.
func locketConfig(t *testing.T, driver, dsn string) (Config, *pki.Bundle) {
	t.Helper()
	certs, err := pki.GenerateLocal(filepath.Join(t.TempDir(), "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.ListenAddress = "127.0.0.1:0"
	c.CAFile, c.ServerCertFile, c.ServerKeyFile = certs.CACert, certs.ServerCert, certs.ServerKey
	c.DatabaseDriver, c.DatabaseConnectionString = driver, dsn
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c, certs
}

// TestStartWaitsForAnUnreachableDatabase: while PostgreSQL refuses
// connections, Start keeps retrying; once it is back Locket serves locks.
func TestStartWaitsForAnUnreachableDatabase(t *testing.T) {
	u, err := url.Parse(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.New(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	proxy.Cut(faultproxy.Refuse)
	u.Host = proxy.Addr()
	cfg, certs := locketConfig(t, "postgres", u.String())

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	type started struct {
		d   *Daemon
		err error
	}
	done := make(chan started, 1)
	go func() {
		d, err := Start(ctx, cfg)
		done <- started{d, err}
	}()
	select {
	case s := <-done:
		t.Fatalf("Start returned while the database refused connections: %v", s.err)
	case <-time.After(4 * time.Second):
	}
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	var s started
	select {
	case s = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Start did not return within 60s of the database coming back")
	}
	if s.err != nil {
		t.Fatalf("Start after the database came back: %v", s.err)
	}
	t.Cleanup(s.d.stop)
	conn, err := locket.DialFiles(s.d.Addr(), certs.CACert, certs.ClientCert, certs.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lctx, lcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer lcancel()
	if _, err := conn.Lock(lctx, &models.LockRequest{Resource: &models.Resource{Key: "k", Owner: "o", TypeCode: models.LOCK}, TtlInSeconds: 10}); err != nil {
		t.Fatalf("taking a lock after the database came back: %v", err)
	}
}

// TestStartFailsFastOnAWrongDatabase: an unknown database ends Start at
// once with the server's message.
func TestStartFailsFastOnAWrongDatabase(t *testing.T) {
	u, err := url.Parse(testdb.PostgresServer())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/diego_no_such_database"
	cfg, _ := locketConfig(t, "postgres", u.String())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // bounds a regression only
	defer cancel()
	d, err := Start(ctx, cfg)
	if err == nil {
		d.stop()
		t.Fatal("Start succeeded")
	}
	if ctx.Err() != nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("error %v; want the server's \"does not exist\" before the context ends", err)
	}
}
