package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/jsonconfig/configfuzz"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
)

func bundle(tb testing.TB) *pki.Bundle {
	tb.Helper()
	b, err := pki.GenerateLocal(filepath.Join(tb.TempDir(), "certs"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func hash(pw string) string { s := sha256.Sum256([]byte(pw)); return hex.EncodeToString(s[:]) }

// withBBS points c at a BBS with b's client certificate.
func withBBS(c Config, b *pki.Bundle) Config {
	c.BBS = BBSConfig{URL: "https://127.0.0.1:8889", CACert: b.CACert, ClientCert: b.ClientCert, ClientKey: b.ClientKey}
	return c
}

func TestValidate(t *testing.T) {
	b := bundle(t)
	valid := func() Config {
		c := withBBS(DefaultConfig(), b)
		c.LocketAddress = "127.0.0.1:8891"
		return c
	}
	public := func(c *Config) { c.ListenAddress = "0.0.0.0:8890" }
	testutil.CheckValidate(t, valid, Config{}, []string{"listen_address", "bbs.url", "bbs.ca_cert is required", "bbs.client_key is required", "poll_interval 0s", "log_level"}, []testutil.ValidateCase[Config]{
		{Change: func(c *Config) { c.ListenAddress = "8890" }, Want: `listen_address "8890" must be host:port`},
		{Change: public, Want: "set tls.cert_file and tls.key_file"},
		{Change: public, Want: "set users (basic-auth logins) or tls.client_ca_file"},
		{Change: func(c *Config) { public(c); c.Users = []User{{Name: "a", PasswordSHA256: hash("x")}} }, Want: "set tls.cert_file"},
		{Change: func(c *Config) { c.TLS.CertFile = "/nonexistent/cert" }, Want: "tls.key_file is required"},
		{Change: func(c *Config) { c.TLS.ClientCAFile = b.CACert }, Want: "tls.client_ca_file needs tls.cert_file and tls.key_file"},
		{Change: func(c *Config) { c.Users = []User{{Name: "", PasswordSHA256: hash("x")}} }, Want: "users[0].name"},
		{Change: func(c *Config) { c.Users = []User{{Name: "a:b", PasswordSHA256: hash("x")}} }, Want: "without ':'"},
		{Change: func(c *Config) { c.Users = []User{{Name: "a", PasswordSHA256: "secret"}} }, Want: "users[0].password_sha256: want 64 hex digits"},
		{Change: func(c *Config) {
			c.Users = []User{{Name: "a", PasswordSHA256: hash("x")}, {Name: "a", PasswordSHA256: hash("y")}}
		}, Want: `users[1].name "a" is listed twice`},
		{Change: func(c *Config) { c.BBS.URL = "127.0.0.1:8889" }, Want: "bbs.url"},
		{Change: func(c *Config) { c.BBS.ClientCert = "/nonexistent/client.crt" }, Want: "bbs.client_cert: stat /nonexistent/client.crt"},
		{Change: func(c *Config) { c.LocketAddress = "locket" }, Want: "locket_address"},
		{Change: func(c *Config) { c.MetricsURLs = map[string]string{"bbs": "localhost:9090"} }, Want: `metrics_urls["bbs"]`},
		{Change: func(c *Config) { c.CellLocalURLs = map[string]string{"cell-1": "ftp://x"} }, Want: `cell_local_urls["cell-1"]`},
		{Change: func(c *Config) { c.LogDir = "/nonexistent/logs" }, Want: "log_dir"},
		{Change: func(c *Config) { c.PollInterval = jsonconfig.Duration(time.Second) }, Want: "poll_interval 1s: want 5s or more"},
		{Change: func(c *Config) { c.LogLevel = "loud" }, Want: "loud"},
	})
	for name, change := range map[string]func(*Config){
		"public with TLS and users": func(c *Config) {
			public(c)
			c.TLS.CertFile, c.TLS.KeyFile, c.Users = b.ServerCert, b.ServerKey, []User{{Name: "a", PasswordSHA256: hash("x")}}
		},
		"public with TLS and client certs": func(c *Config) { public(c); c.TLS = TLSConfig{b.ServerCert, b.ServerKey, b.CACert} },
		"several BBS URLs":                 func(c *Config) { c.BBS.URL = "https://10.0.0.1:8889,https://10.0.0.2:8889" },
		"localhost":                        func(c *Config) { c.ListenAddress = "localhost:0" },
		"IPv6 loopback":                    func(c *Config) { c.ListenAddress = "[::1]:0" },
		"optional URLs": func(c *Config) {
			c.MetricsURLs = map[string]string{"bbs": "http://127.0.0.1:9090/metrics"}
			c.LogDir = t.TempDir()
		},
	} {
		c := valid()
		change(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseConfigRejectsUnknownFields(t *testing.T) {
	_, err := ParseConfig(strings.NewReader(`{"listen_address": "127.0.0.1:1", "users": [{"name": "a", "password": "x"}]}`))
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("unknown field: err = %v, want it named", err)
	}
	c, err := ParseConfig(strings.NewReader(`{"poll_interval": "10s", "metrics_urls": {"bbs": "http://127.0.0.1:1/metrics"}}`))
	if err != nil || time.Duration(c.PollInterval) != 10*time.Second || c.ListenAddress != "127.0.0.1:8898" || c.LogLevel != "info" {
		t.Errorf("ParseConfig = %+v, %v; want the defaults under the file's fields", c, err)
	}
}

// FuzzConfig: the config file through Load (configfuzz: errors name the
// file, Load agrees with ParseConfig and Validate, accepted configs round-trip).
func FuzzConfig(f *testing.F) {
	configfuzz.Fuzz(f, configfuzz.Format[Config]{
		Parse: ParseConfig, Load: Load, Validate: Config.Validate,
		Valid: func(b *pki.Bundle, dir string) []Config {
			local := withBBS(DefaultConfig(), b)
			local.LogDir = dir
			public := withBBS(DefaultConfig(), b)
			public.ListenAddress = "0.0.0.0:8890"
			public.TLS = TLSConfig{CertFile: b.ServerCert, KeyFile: b.ServerKey, ClientCAFile: b.CACert}
			public.Users = []User{{Name: "admin", PasswordSHA256: hash("pw")}}
			public.MetricsURLs = map[string]string{"bbs": "http://127.0.0.1:9090/metrics"}
			public.CellLocalURLs = map[string]string{"cell-1": "http://127.0.0.1:1800"}
			return []Config{local, public}
		},
		Seeds: []string{`{"poll_interval": "1s"}`, `{"listen_address": "0.0.0.0:1", "users": [{"name": "x", "password_sha256": "00"}]}`},
	})
}
