package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/daemon"
	"github.com/diego-go/diego/src/pki"
)

func TestParseConfig(t *testing.T) {
	c, err := daemon.ParseConfig(strings.NewReader(`{"database_driver": "sqlite"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddress != "0.0.0.0:8891" || c.LogLevel != "info" || c.DatabaseDriver != "sqlite" {
		t.Errorf("defaults = %+v", c)
	}
	for _, bad := range []string{`{"listen_adress": "x"}`, `{"ttl": 5}`, `{} {}`, `[`} {
		if _, err := daemon.ParseConfig(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseConfig(%s) accepted it", bad)
		}
	}
}

func certs(t *testing.T) *pki.Bundle {
	t.Helper()
	b, err := pki.GenerateLocal(filepath.Join(t.TempDir(), "certs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func validConfig(t *testing.T, b *pki.Bundle) daemon.Config {
	c := daemon.DefaultConfig()
	c.CAFile, c.ServerCertFile, c.ServerKeyFile = b.CACert, b.ServerCert, b.ServerKey
	c.DatabaseDriver, c.DatabaseConnectionString = "sqlite", filepath.Join(t.TempDir(), "locket.db")
	return c
}

func TestValidate(t *testing.T) {
	b := certs(t)
	if err := validConfig(t, b).Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	err := daemon.DefaultConfig().Validate()
	for _, want := range []string{"ca_file is required", "server_cert_file is required", "server_key_file is required", "database_driver is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("empty config: error %v should say %q", err, want)
		}
	}
	for _, tc := range []struct {
		change func(*daemon.Config)
		want   string
	}{
		{func(c *daemon.Config) { c.ListenAddress = "8891" }, "listen_address"},
		{func(c *daemon.Config) { c.MetricsAddress = "localhost" }, "metrics_address"},
		{func(c *daemon.Config) { c.DatabaseDriver = "oracle" }, "unknown database driver"},
		{func(c *daemon.Config) { c.DatabaseConnectionString = "" }, "database_connection_string is required"},
		{func(c *daemon.Config) { c.DatabaseConnectionString = ":memory:" }, "sqlite needs a database file"},
		{func(c *daemon.Config) { c.MaxOpenDatabaseConnections = -1 }, "max open connections"},
		{func(c *daemon.Config) { c.CAFile = "/nonexistent/ca.crt" }, "ca_file"},
		{func(c *daemon.Config) { c.LogLevel = "verbose" }, "log_level"},
	} {
		c := validConfig(t, b)
		tc.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v; want an error mentioning %q", c, err, tc.want)
		}
	}
}

// run is the command as main runs it, with the given arguments and output.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return locketCommand.Execute(ctx, args, stdout, stderr)
}

func writeConfig(t *testing.T, c daemon.Config) string {
	return testutil.WriteJSON(t, "locket.json", c)
}

func TestRunFlags(t *testing.T) {
	good := writeConfig(t, validConfig(t, certs(t)))
	bad := writeConfig(t, daemon.DefaultConfig())
	testutil.CheckDaemonFlags(t, run, "locket", good, bad, "ca_file")
}

// TestRunServes starts the command on SQLite, takes a lock over mutual TLS,
// reads the metrics, and stops it through its context (what SIGTERM does).
func TestRunServes(t *testing.T) {
	b := certs(t)
	cfg := validConfig(t, b)
	cfg.ListenAddress, cfg.MetricsAddress, cfg.DebugAddress = testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	path := writeConfig(t, cfg)

	r := testutil.StartDaemon(t, "locket", run, "-config", path)

	clientTLS, err := pki.ClientTLSConfig(b.CACert, b.ClientCert, b.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := locket.Dial(cfg.ListenAddress, clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r.WaitFor(10*time.Second, "a Lock to succeed", func() bool {
		lctx, lcancel := context.WithTimeout(context.Background(), time.Second)
		defer lcancel()
		_, err := conn.Lock(lctx, &models.LockRequest{Resource: &models.Resource{Key: "bbs", Owner: "bbs-0", TypeCode: models.LOCK}, TtlInSeconds: 15})
		return err == nil
	})

	testutil.MetricsContain(t, cfg.MetricsAddress, "locket_active_locks 1", `locket_requests_total{code="OK",method="Lock"} 1`, "go_goroutines")
	if resp, err := http.Get("http://" + cfg.DebugAddress + "/debug/pprof/"); err != nil || resp.StatusCode != 200 {
		t.Errorf("pprof: %v", err)
	}

	r.Stop(15 * time.Second)
	r.LogsContain(`"msg":"locket started"`, `"msg":"locket stopped"`)
}
