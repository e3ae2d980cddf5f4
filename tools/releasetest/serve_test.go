package releasetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startJob runs the repository's binary on a rendered config (-config
// cfgPath) until the test ends, when it is killed and waited for. It
// returns the file its output (stdout and stderr) goes to.
func startJob(t *testing.T, binary, cfgPath string) (logPath string) {
	t.Helper()
	logs, err := os.Create(filepath.Join(t.TempDir(), binary+".log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(binaries(t), binary), "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait(); logs.Close() })
	return logs.Name()
}

// aliasClient is an HTTPS client for a job serving on the loopback address
// addr with a certificate for its BOSH DNS alias: it trusts only the CA of
// the vars store's certificate variable certVar, verifies the name alias,
// and dials addr whatever a URL's host.
func aliasClient(t *testing.T, certVar, alias, addr string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caOf(t, certVar))) {
		t.Fatalf("no CA for %s in the vars store", certVar)
	}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: alias},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
	}
}

// waitServing polls GET url with client until the job answers (whatever
// the status), failing the test with the job's output after 60 s.
func waitServing(t *testing.T, client *http.Client, url, logPath string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v\nthe job's output:\n%s", url, err, readFile(t, logPath))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
