package daemon_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/daemon"
	"github.com/diego-go/diego/src/internal/faultproxy"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/pki"
)

// bbsConfig is a BBS config on 127.0.0.1 ports with fresh certificates.
func bbsConfig(t *testing.T, driver, dsn string) (config.Config, *pki.Bundle) {
	t.Helper()
	certs, err := pki.GenerateLocal(filepath.Join(t.TempDir(), "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultConfig()
	cfg.ListenAddress, cfg.HealthAddress = "127.0.0.1:0", "127.0.0.1:0"
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = certs.CACert, certs.ServerCert, certs.ServerKey
	cfg.RepCAFile, cfg.RepClientCertFile, cfg.RepClientKeyFile = certs.CACert, certs.ClientCert, certs.ClientKey
	cfg.DatabaseDriver, cfg.DatabaseConnectionString = driver, dsn
	cfg.EncryptionKeys, cfg.ActiveKeyLabel = map[string]string{"k1": "passphrase-one"}, "k1"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg, certs
}

// TestStartWaitsForAnUnreachableDatabase: while PostgreSQL refuses
// connections (a cut proxy), Start keeps retrying instead of returning; once
// the database is back it finishes starting and serves.
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
	cfg, certs := bbsConfig(t, "postgres", u.String())

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	type started struct {
		d   *daemon.Daemon
		err error
	}
	done := make(chan started, 1)
	go func() {
		d, err := daemon.Start(ctx, cfg, daemon.Options{})
		done <- started{d, err}
	}()
	// Several attempts (0.5 s, 1 s, 2 s backoff) happen in this window; the
	// BBS before the fix returned its error on the first.
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
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		s.d.Stop(sctx)
	})
	resp, err := http.Get("http://" + s.d.HealthAddr() + "/leader")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health /leader answered %s; want 200 (leading)", resp.Status)
	}
	client, err := bbs.NewClient("https://"+s.d.Addr(), certs.CACert, certs.ClientCert, certs.ClientKey, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !client.Ping(lager.NewLogger("test"), "") {
		t.Fatal("the BBS does not answer ping after the database came back")
	}
	if _, err := client.Domains(lager.NewLogger("test"), ""); err != nil {
		t.Fatalf("reading from the BBS after the database came back: %v", err)
	}
}

// TestStartFailsFastOnAWrongDatabase: errors retrying cannot fix (unknown
// database, unknown role, wrong password) end Start at once with the
// server's message, not after the context ends.
func TestStartFailsFastOnAWrongDatabase(t *testing.T) {
	pg, err := url.Parse(testdb.PostgresServer())
	if err != nil {
		t.Fatal(err)
	}
	noDB, noRole := *pg, *pg
	noDB.Path = "/diego_no_such_database"
	noRole.User = url.User("diego_no_such_role")
	mysqlDSN := testdb.MySQL(t)
	wrongPassword := strings.Replace(mysqlDSN, "root@", "root:wrong-password@", 1)
	if wrongPassword == mysqlDSN {
		t.Fatalf("cannot add a password to %q", mysqlDSN)
	}
	for _, c := range []struct{ name, driver, dsn, want string }{
		{"unknown database", "postgres", noDB.String(), "does not exist"},
		{"unknown role", "postgres", noRole.String(), "diego_no_such_role"},
		{"wrong password", "mysql", wrongPassword, "Access denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, _ := bbsConfig(t, c.driver, c.dsn)
			// The deadline only bounds a regression: a fast failure never reaches it.
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			d, err := daemon.Start(ctx, cfg, daemon.Options{})
			if err == nil {
				d.Stop(context.Background())
				t.Fatal("Start succeeded")
			}
			if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				t.Fatalf("Start retried until its context ended: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "database_connection_string") {
				t.Fatalf("error %q; want one naming %q and database_connection_string", err, c.want)
			}
		})
	}
}
