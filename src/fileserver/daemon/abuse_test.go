package daemon

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/serve/abusetest"
	"github.com/diego-go/diego/src/pki"
)

// TestStandsUpToAbuse: both listeners cut slow clients, answer oversized
// headers 431 and serve at most max_connections at once, while a
// well-behaved client is served.
func TestStandsUpToAbuse(t *testing.T) {
	cfg := validConfig(t)()
	cfg.ServerLimits = abusetest.Limits
	if err := os.WriteFile(filepath.Join(cfg.StaticDirectory, "a.tgz"), []byte("bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	caPool, err := pki.LoadCAPool(filepath.Join(filepath.Dir(cfg.CertFile), "ca.crt"))
	if err != nil {
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
	get := abusetest.Request{Method: "GET", Path: "/v1/static/a.tgz"}
	t.Run("https", func(t *testing.T) {
		abusetest.Run(t, abusetest.Target{Addr: s.HTTPSAddr, TLS: &tls.Config{RootCAs: caPool}, Good: get}, abusetest.Options{})
	})
	redirect := get
	redirect.Status = http.StatusMovedPermanently
	t.Run("http", func(t *testing.T) {
		abusetest.Run(t, abusetest.Target{Addr: s.HTTPAddr, Good: redirect}, abusetest.Options{})
	})
}

// TestDefaultLimitsLeaveDownloadsUntimed: a download may take as long as
// the cell needs, every other limit is serve's.
func TestDefaultLimitsLeaveDownloadsUntimed(t *testing.T) {
	cfg := DefaultConfig()
	l := cfg.ServerLimits.Or(DefaultLimits)
	if srv := l.Apply(&http.Server{}); srv.WriteTimeout != 0 || srv.ReadHeaderTimeout == 0 || srv.MaxHeaderBytes == 0 {
		t.Fatalf("file server defaults: write %s, read header %s, max header bytes %d", srv.WriteTimeout, srv.ReadHeaderTimeout, srv.MaxHeaderBytes)
	}
}

// TestServerLimitsConfig: server_limits may set some fields, the rest keep
// their defaults; a bad value is named.
func TestServerLimitsConfig(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(`{"static_directory": "/tmp", "server_limits": {"max_connections": 5, "read_header_timeout": "3s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := c.ServerLimits.Or(DefaultLimits).Apply(&http.Server{})
	if srv.ReadHeaderTimeout != 3*time.Second || srv.ReadTimeout != time.Minute || c.ServerLimits.Or(DefaultLimits).MaxConnections != 5 {
		t.Fatalf("parsed limits: %+v, server %+v", c.ServerLimits, srv)
	}
	c.ServerLimits.MaxHeaderBytes = -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "server_limits.max_header_bytes -1") {
		t.Fatalf("Validate = %v", err)
	}
}
