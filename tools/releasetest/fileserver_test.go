package releasetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// freePort returns a 127.0.0.1 address nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestFileServerJobServesBundle renders the file_server job as the base
// manifest places it (api group, HTTPS with the generated file_server_cert),
// on loopback ports, lays out jobs/file_server/packages/diego-sshd/ as the
// BOSH agent does, runs the real file-server binary on the rendered config
// and downloads /v1/static/diego-sshd/diego-sshd.tgz over HTTPS, trusting
// only the deployment's CA for file-server.service.cf.internal; the plain
// HTTP listener redirects to it.
func TestFileServerJobServesBundle(t *testing.T) {
	httpAddr, httpsAddr := freePort(t), freePort(t)
	ops := opsFileOf(t,
		replace("/instance_groups/name=api/jobs/name=file_server/properties/diego?/file_server?/listen_addr", httpAddr),
		replace("/instance_groups/name=api/jobs/name=file_server/properties/https_listen_addr?", httpsAddr),
	)
	out, root, err := renderAPIJob(t, "file_server", []string{ops}, nil)
	if err != nil {
		t.Fatalf("rendering file_server: %v", err)
	}
	if err := relocate(out, root); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(out, "config", "file_server.json")
	var cfg map[string]interface{}
	if err := json.Unmarshal([]byte(readFile(t, cfgPath)), &cfg); err != nil {
		t.Fatalf("config/file_server.json: %v", err)
	}
	if got, want := cfg["static_directory"], filepath.Join(root, "jobs", "file_server", "packages")+"/"; got != want {
		t.Errorf("static_directory = %v, want the job's packages directory %s", got, want)
	}
	if cfg["https_server_enabled"] != true || cfg["cert_file"] != filepath.Join(out, "config", "certs", "tls.crt") {
		t.Errorf("config = %v, want HTTPS with config/certs/tls.crt", cfg)
	}

	// the BOSH agent's jobs/file_server/packages/<package> (here a
	// directory holding a bundle, not the compiled package)
	bundle := []byte("a diego-sshd lifecycle bundle, as packages/diego-sshd packs it\n")
	pkgDir := filepath.Join(out, "packages", "diego-sshd")
	if err := os.MkdirAll(pkgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkgDir, "diego-sshd.tgz"), bundle, 0o644); err != nil {
		t.Fatal(err)
	}

	logs := startJob(t, "file-server", cfgPath)
	client := aliasClient(t, "file_server_cert", "file-server.service.cf.internal", httpsAddr)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	url := "https://file-server.service.cf.internal/v1/static/diego-sshd/diego-sshd.tgz"
	waitServing(t, client, url, logs)
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v\nfile-server logs:\n%s", url, err, readFile(t, logs))
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(bundle)
	if resp.StatusCode != http.StatusOK || string(body) != string(bundle) {
		t.Fatalf("GET %s: %d %q, want 200 and the bundle", url, resp.StatusCode, body)
	}
	if etag := resp.Header.Get("ETag"); etag != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Errorf("ETag %q, want the bundle's sha256", etag)
	}

	plain := &http.Client{Timeout: 5 * time.Second, CheckRedirect: client.CheckRedirect}
	r2, err := plain.Get(fmt.Sprintf("http://%s/v1/static/diego-sshd/diego-sshd.tgz", httpAddr))
	if err != nil {
		t.Fatalf("plain HTTP GET: %v", err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(r2.Header.Get("Location"), "https://") {
		t.Errorf("plain HTTP: %d Location %q, want 301 to https", r2.StatusCode, r2.Header.Get("Location"))
	}
}

// caOf returns the CA of the vars store's certificate variable name (the
// base manifest's variables, generated once for every test).
func caOf(t *testing.T, name string) string {
	t.Helper()
	var vars map[string]interface{}
	if err := yaml.Unmarshal([]byte(readFile(t, varsStore(t))), &vars); err != nil {
		t.Fatalf("vars store: %v", err)
	}
	cert, _ := vars[name].(map[string]interface{})
	ca, _ := cert["ca"].(string)
	if ca == "" {
		t.Fatalf("the vars store has no certificate %s", name)
	}
	return ca
}

// TestFileServerJobRequiresTLSForHTTPS: https_server_enabled without
// tls.cert/tls.key fails rendering with a message naming them.
func TestFileServerJobRequiresTLSForHTTPS(t *testing.T) {
	ops := opsFileOf(t, remove("/instance_groups/name=api/jobs/name=file_server/properties/tls"))
	_, _, err := renderAPIJob(t, "file_server", []string{ops}, nil)
	if err == nil || !strings.Contains(err.Error(), "tls.cert and tls.key are required when https_server_enabled is true") {
		t.Fatalf("rendering file_server with HTTPS and no tls: err = %v, want the tls.cert/tls.key message", err)
	}
}
