package daemon

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
)

func validConfig(t *testing.T) func() Config {
	dir := t.TempDir()
	b, err := pki.GenerateLocal(filepath.Join(t.TempDir(), "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return func() Config {
		c := DefaultConfig()
		c.ServerAddress = "127.0.0.1:0"
		c.StaticDirectory = dir
		c.HTTPSServerEnabled, c.HTTPSListenAddr = true, "127.0.0.1:0"
		c.CertFile, c.KeyFile = b.ServerCert, b.ServerKey
		return c
	}
}

func TestValidate(t *testing.T) {
	valid := validConfig(t)
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.CheckValidate(t, valid, Config{}, []string{"server_address", "static_directory is required", "log_level"}, []testutil.ValidateCase[Config]{
		{Change: func(c *Config) { c.ServerAddress = "8080" }, Want: "server_address \"8080\" must be host:port"},
		{Change: func(c *Config) { c.StaticDirectory = "/nonexistent/static" }, Want: "static_directory: stat /nonexistent/static"},
		{Change: func(c *Config) { c.StaticDirectory = notDir }, Want: "is not a directory"},
		{Change: func(c *Config) { c.HTTPSListenAddr = "" }, Want: "https_listen_addr \"\" must be host:port (https_server_enabled is true)"},
		{Change: func(c *Config) { c.CertFile = "" }, Want: "cert_file is required when https_server_enabled is true"},
		{Change: func(c *Config) { c.KeyFile = "/nonexistent/key" }, Want: "key_file: stat /nonexistent/key"},
		{Change: func(c *Config) { c.LogLevel = "loud" }, Want: "loud"},
	})
	c := valid()
	c.HTTPSServerEnabled, c.CertFile, c.KeyFile, c.HTTPSListenAddr = false, "", "", ""
	if err := c.Validate(); err != nil {
		t.Errorf("HTTP only: %v", err)
	}
}

// TestHTTPS: with HTTPS enabled the bundle is served over TLS with the
// pki-issued certificate, and plain HTTP redirects to it (301).
func TestHTTPS(t *testing.T) {
	cfg := validConfig(t)()
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

	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get("http://" + s.HTTPAddr + "/v1/static/a.tgz?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "https://" + s.HTTPSAddr + "/v1/static/a.tgz?x=1"
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Fatalf("plain HTTP: %s Location %q; want 301 to %q", resp.Status, resp.Header.Get("Location"), want)
	}
	resp, err = client.Get(want)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "bundle" || resp.Header.Get("ETag") == "" {
		t.Fatalf("HTTPS: %s %q ETag %q", resp.Status, body, resp.Header.Get("ETag"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if _, err := http.Get("http://" + s.HTTPAddr + "/v1/static/a.tgz"); err == nil {
		t.Fatal("HTTP still served after the daemon stopped")
	}
}

// TestStartRefusesBadKeyPair: a certificate that does not load stops Start
// with the config fields to check.
func TestStartRefusesBadKeyPair(t *testing.T) {
	cfg := validConfig(t)()
	cfg.KeyFile = cfg.CertFile
	if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "cert_file, key_file") {
		t.Fatalf("Start: %v", err)
	}
}
