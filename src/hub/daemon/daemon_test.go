package daemon

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/hub/ui"
	"github.com/diego-go/diego/src/pki"
)

// start runs a Hub with cfg (its BBS unreachable: the API serves empty
// views) and stops it when the test ends.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Wait(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Wait: %v", err)
		}
	})
	return s
}

func unreachableBBS(c Config, b *pki.Bundle) Config {
	c = withBBS(c, b)
	c.BBS.URL = "https://127.0.0.1:1"
	return c
}

func get(t *testing.T, hc *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLoopbackServesWithoutLogin(t *testing.T) {
	b := bundle(t)
	cfg := unreachableBBS(DefaultConfig(), b)
	cfg.ListenAddress = "127.0.0.1:0"
	s := start(t, cfg)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %s", s.URL)
	}
	page := "the Hub's UI is not built: run <code>make hub-ui</code>"
	if ui.Built() { // make hub-ui ran before the test: the page itself
		page = "<title>Diego Hub</title>"
	}
	for path, want := range map[string]string{
		"/healthz":      "ok",
		"/api/overview": `"cells":{"total":0,"missing":0,"evacuating":0}`,
		"/api/apps":     `"items":[],"page":1,"per_page":50,"total":0`,
		"/api/cells":    `"zones":[]`,
		"/api/nope":     `"error":"no such API endpoint`,
		"/apps/web":     page,
	} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		if _, body := get(t, http.DefaultClient, req); !strings.Contains(strings.ReplaceAll(body, "The Hub's", "the Hub's"), want) {
			t.Errorf("GET %s = %s, want %q in it", path, body, want)
		}
	}
}

func TestTLSWithBasicAuthAndClientCertificates(t *testing.T) {
	b := bundle(t)
	audit := filepath.Join(t.TempDir(), "audit.log")
	cfg := unreachableBBS(DefaultConfig(), b)
	cfg.ListenAddress = "127.0.0.1:0"
	cfg.TLS = TLSConfig{CertFile: b.ServerCert, KeyFile: b.ServerKey, ClientCAFile: b.CACert}
	cfg.Users = []User{{Name: "admin", PasswordSHA256: hash("s3cret")}}
	cfg.AuditLog = audit
	s := start(t, cfg)
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("URL = %s, want https", s.URL)
	}
	pool, err := pki.LoadCAPool(b.CACert)
	if err != nil {
		t.Fatal(err)
	}
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	clientTLS, err := pki.ClientTLSConfig(b.CACert, b.ClientCert, b.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}}
	req := func(user, pw string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, s.URL+"/api/overview", nil)
		if user != "" {
			r.SetBasicAuth(user, pw)
		}
		return r
	}
	for name, c := range map[string]struct {
		hc   *http.Client
		req  *http.Request
		want int
	}{
		"no login":          {anon, req("", ""), http.StatusUnauthorized},
		"wrong password":    {anon, req("admin", "guess"), http.StatusUnauthorized},
		"unknown user":      {anon, req("root", "s3cret"), http.StatusUnauthorized},
		"basic auth":        {anon, req("admin", "s3cret"), http.StatusOK},
		"client cert":       {withCert, req("", ""), http.StatusOK},
		"healthz, no login": {anon, func() *http.Request { r, _ := http.NewRequest(http.MethodGet, s.URL+"/healthz", nil); return r }(), http.StatusOK},
	} {
		if code, body := get(t, c.hc, c.req); code != c.want {
			t.Errorf("%s: HTTP %d %s, want %d", name, code, body, c.want)
		}
	}
	// An action is audited with who asked, even when it fails (no BBS).
	for _, who := range []struct {
		hc   *http.Client
		user string
		want string
	}{{anon, "admin", `"who":"admin"`}, {withCert, "", `"who":"cert:` + pki.LocalClientCommonName + `"`}} {
		r, _ := http.NewRequest(http.MethodPost, s.URL+"/api/tasks/t1/cancel", strings.NewReader(`{"confirm":true}`))
		r.Header.Set("X-Hub-Action", "1")
		if who.user != "" {
			r.SetBasicAuth(who.user, "s3cret")
		}
		code, body := get(t, who.hc, r)
		var e map[string]string
		if code != http.StatusBadGateway || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e["error"], "cancelling task t1") {
			t.Errorf("cancel without a BBS: HTTP %d %s, want 502 with the error", code, body)
		}
		log, _ := os.ReadFile(audit)
		if !strings.Contains(string(log), who.want) || !strings.Contains(string(log), `"request":"POST /api/tasks/t1/cancel"`) {
			t.Errorf("audit log %s: want %s", log, who.want)
		}
	}
}
