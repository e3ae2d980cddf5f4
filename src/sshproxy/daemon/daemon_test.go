package daemon

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/sshd/sshtest"
	"github.com/diego-go/diego/src/sshproxy/sshproxytest"
)

func validConfig(t *testing.T) func() Config {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	key := sshtest.NewKey(t)
	return func() Config {
		c := DefaultConfig()
		c.Address, c.HealthCheckAddress = "127.0.0.1:0", "127.0.0.1:0"
		c.HostKey = key.PEM
		c.BBSAddress = strings.TrimPrefix(h.URL, "https://")
		c.BBSCACert, c.BBSClientCert, c.BBSClientKey = h.Certs.CACert, h.Certs.ClientCert, h.Certs.ClientKey
		c.EnableDiegoAuth, c.DiegoCredentials = true, "secret"
		return c
	}
}

func TestValidate(t *testing.T) {
	valid := validConfig(t)
	testutil.CheckValidate(t, valid, Config{}, []string{"address", "host_key is required", "bbs_address is required", "bbs_ca_cert is required", "no realm is enabled", "log_level"}, []testutil.ValidateCase[Config]{
		{Change: func(c *Config) { c.Address = "2222" }, Want: `address "2222" must be host:port`},
		{Change: func(c *Config) { c.HostKey = "not a key" }, Want: "host_key is not a PEM private key"},
		{Change: func(c *Config) { c.BBSAddress = "http://bbs:8889" }, Want: "must be host:port or an https URL"},
		{Change: func(c *Config) { c.BBSClientKey = "/nonexistent/key" }, Want: "bbs_client_key: stat /nonexistent/key"},
		{Change: func(c *Config) { c.DiegoCredentials = "" }, Want: "diego_credentials is required when enable_diego_auth is true"},
		{Change: func(c *Config) { c.EnableCFAuth = true }, Want: `cc_api_url "" must be an http(s) URL when enable_cf_auth is true`},
		{Change: func(c *Config) {
			c.EnableCFAuth, c.CCAPIURL, c.UAATokenURL = true, "http://cc:9022", "https://uaa:8443/oauth/token"
		}, Want: "uaa_password is required"},
		{Change: func(c *Config) { c.AllowedCiphers = "aes128-ctr,rot13" }, Want: `allowed_ciphers: "rot13" is not supported`},
		{Change: func(c *Config) { c.AllowedKeyExchanges = "nope" }, Want: `allowed_key_exchanges: "nope" is not supported`},
		{Change: func(c *Config) { c.CommunicationTimeout = 0 }, Want: "communication_timeout 0s must be positive"},
		{Change: func(c *Config) { c.MaxConnections = -1 }, Want: "max_connections -1 must be 0"},
		{Change: func(c *Config) { c.HealthCheckAddress = "" }, Want: "health_check_address"},
	})
	c := valid()
	c.DisableHealthCheckServer, c.HealthCheckAddress = true, ""
	if err := c.Validate(); err != nil {
		t.Errorf("without the health check server: %v", err)
	}
	if fp, err := c.HostFingerprint(); err != nil || !strings.HasPrefix(fp, "SHA256:") {
		t.Errorf("HostFingerprint: %q, %v", fp, err)
	}
}

// The daemon from its config: health check, then an OpenSSH session to an
// instance found in the BBS.
func TestDaemonServesFromItsConfig(t *testing.T) {
	w := sshproxytest.Start(t, nil) // its BBS and daemon (its own proxy is not used here)
	w.Desire(t, "pg-d", 1, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)

	proxyKey := sshtest.NewKey(t)
	cfg := DefaultConfig()
	cfg.Address, cfg.HealthCheckAddress, cfg.DebugAddress = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.HostKey = proxyKey.PEM
	cfg.BBSAddress = w.BBS.URL
	cfg.BBSCACert, cfg.BBSClientCert, cfg.BBSClientKey = w.BBS.Certs.CACert, w.BBS.Certs.ClientCert, w.BBS.Certs.ClientKey
	cfg.EnableDiegoAuth, cfg.DiegoCredentials = true, "secret"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, cfg, Options{Logger: testutil.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Wait(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Wait: %v", err)
		}
	}()
	resp, err := http.Get("http://" + d.HealthAddr + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health check: %v %v", resp, err)
	}
	resp.Body.Close()
	c := sshtest.NewClient(t, d.Addr, proxyKey.Signer.PublicKey(), "diego:pg-d/0")
	c.Password = "secret"
	if r := c.Run(t, "", "ssh", c.Target(), "echo through-the-daemon"); r.Stdout != "through-the-daemon\n" {
		t.Fatalf("ssh through the daemon: %+v", r)
	}
}
