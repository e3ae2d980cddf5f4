package deploylocal

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// standinInfo is the JSON line src/internal/vaulttest/standin prints.
type standinInfo struct {
	Port      int    `json:"port"`
	RootToken string `json:"root_token"`
	CACert    string `json:"ca_cert"`
	AppRoles  map[string]struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
	} `json:"approles"`
}

// keyRing is the BBS key ring document in Vault (src/bbs/keyring.Doc).
type keyRing struct {
	ActiveKeyLabel string            `json:"active_key_label"`
	Keys           map[string]string `json:"keys"`
	RotatingTo     string            `json:"rotating_to"`
}

// encryptionStatus is the BBS's GET /v1/admin/encryption/status (src/bbs/reencrypt.Status).
type encryptionStatus struct {
	ActiveLabel string   `json:"active_label"`
	Labels      []string `json:"labels"`
	PendingRows int64    `json:"pending_rows"`
	Counts      []struct {
		Table string `json:"table"`
		Label string `json:"label"`
		Rows  int64  `json:"rows"`
	} `json:"counts"`
}

// TestRotateErrandLocal deploys the release with the BBS reading its key
// ring from Vault (ops-files/use-vault-encryption-keys.yml) and the
// rotate-encryption-key errand (ops-files/add-rotate-encryption-key-errand.yml),
// Vault being the vaulttest stand-in (src/internal/vaulttest/standin, https
// with its own CA, AppRole logins for the BBS and the errand, each with its
// documented policy) on the host.
// With an LRP desired (rows sealed with the first key) it runs the errand
// twice: each run must exit 0 and leave Vault with one new active key, no
// rotating_to, and the BBS with every row under that key and the LRP's
// instances RUNNING. Then down. Root only; runs when DIEGO_DEPLOYLOCAL_TEST
// is set (make test-deploy-local).
func TestRotateErrandLocal(t *testing.T) {
	start := time.Now()
	repo, cache, tarball := deployLocalTestSetup(t)

	// the Vault stand-in, reachable from the instances at the bridge's 10.245.0.1
	step := time.Now()
	standin := filepath.Join(cache, "vault-standin")
	build := exec.Command("go", "build", "-o", standin, "./src/internal/vaulttest/standin")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the Vault stand-in: %v\n%s", err, out)
	}
	initial := "deploy-local-initial"
	ring, _ := json.Marshal(keyRing{ActiveKeyLabel: initial, Keys: map[string]string{initial: randHex(32)}})
	vault := exec.Command(standin, "-listen", "0.0.0.0:0", "-tls", "-dir", t.TempDir(), "-cert-host", "10.245.0.1",
		"-keyring", string(ring), "-approle", "bbs:bbs", "-approle", "rotation:rotation") // the documented policies
	stdout, err := vault.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var vaultLog bytes.Buffer
	vault.Stderr = &vaultLog
	if err := vault.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = vault.Process.Signal(syscall.SIGTERM)
		_ = vault.Wait()
		t.Logf("Vault stand-in: %s", strings.TrimSpace(vaultLog.String()))
	}()
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("Vault stand-in: %v\n%s", err, vaultLog.String())
	}
	var vi standinInfo
	if err := json.Unmarshal(line, &vi); err != nil {
		t.Fatalf("Vault stand-in's output %q: %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	vaultAddr := fmt.Sprintf("https://10.245.0.1:%d", vi.Port)
	t.Logf("TIMING Vault stand-in built and started (%s): %s", vaultAddr, time.Since(step).Round(time.Millisecond))
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(vi.CACert)) {
		t.Fatal("the stand-in's CA certificate does not parse")
	}
	vaultClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	readRing := func() (keyRing, int) {
		t.Helper()
		req, _ := http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d/v1/secret/data/diego/bbs/encryption", vi.Port), nil)
		req.Header.Set("X-Vault-Token", vi.RootToken)
		resp, err := vaultClient.Do(req)
		if err != nil {
			t.Fatalf("reading the key ring from Vault: %v", err)
		}
		defer resp.Body.Close()
		var body struct {
			Data struct {
				Data     keyRing `json:"data"`
				Metadata struct {
					Version int `json:"version"`
				} `json:"metadata"`
			} `json:"data"`
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("reading the key ring from Vault: %s %s", resp.Status, b)
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("reading the key ring from Vault: %v", err)
		}
		return body.Data.Data, body.Data.Metadata.Version
	}

	// up
	root := filepath.Join(cache, "test-root-rotate")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	step = time.Now()
	d, err := upForTest(ctx, t, repo, cache, tarball, root,
		[]string{"ops-files/use-vault-encryption-keys.yml", "ops-files/add-rotate-encryption-key-errand.yml"},
		map[string]string{
			"vault_address": vaultAddr, "vault_ca_cert": vi.CACert,
			"vault_bbs_role_id": vi.AppRoles["bbs"].RoleID, "vault_bbs_secret_id": vi.AppRoles["bbs"].SecretID,
			"vault_rotation_role_id": vi.AppRoles["rotation"].RoleID, "vault_rotation_secret_id": vi.AppRoles["rotation"].SecretID,
		})
	if err != nil {
		t.Fatalf("up: %v\nVault stand-in: %s", err, vaultLog.String())
	}
	defer d.downIfUp()
	t.Logf("TIMING up: %s", time.Since(step).Round(time.Second))
	st := d.State
	if !checkProcesses(t, d.Deployment) || t.Failed() {
		return
	}
	api, err := st.Instance("api/0")
	if err != nil {
		t.Fatal(err)
	}
	diego := diegoCLI(api)
	waitReady(t, diego)

	// the BBS admin API from the host, with the errand's rendered admin
	// certificate (diego_cli_client, CN diego-admin)
	certs := filepath.Join(api.Root, "jobs", "rotate-encryption-key", "config", "certs")
	adminCert, err := tls.LoadX509KeyPair(filepath.Join(certs, "admin.crt"), filepath.Join(certs, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	bbsCA, err := os.ReadFile(filepath.Join(certs, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	bbsPool := x509.NewCertPool()
	bbsPool.AppendCertsFromPEM(bbsCA)
	bbsClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: bbsPool, Certificates: []tls.Certificate{adminCert}, ServerName: "bbs.service.cf.internal"},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(api.IP, "8889"))
		},
	}}
	status := func() encryptionStatus {
		t.Helper()
		resp, err := bbsClient.Get("https://bbs.service.cf.internal:8889/v1/admin/encryption/status")
		if err != nil {
			t.Fatalf("BBS encryption status: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("BBS encryption status: %s %s", resp.Status, b)
		}
		var s encryptionStatus
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("BBS encryption status %s: %v", b, err)
		}
		return s
	}
	rows := func(s encryptionStatus) (under map[string]int64) {
		under = map[string]int64{}
		for _, c := range s.Counts {
			under[c.Label] += c.Rows
		}
		return under
	}

	// rows sealed with the first key: an LRP with 3 instances
	step = time.Now()
	if out, err := diego("run", "-i", "3", "-m", "16", "--disk", "16", "-d", "deploy-local", "--timeout", "2m", "rotate-check", "--", "/bin/sh", "-c", "sleep 100000"); err != nil {
		t.Fatalf("diego run rotate-check: %v\n%s", err, out)
	}
	t.Logf("TIMING diego run rotate-check (3 instances RUNNING): %s", time.Since(step).Round(time.Millisecond))
	before := status()
	t.Logf("BBS encryption status before: active %q, labels %v, rows per label %v", before.ActiveLabel, before.Labels, rows(before))
	if before.ActiveLabel != initial || rows(before)[initial] == 0 {
		t.Fatalf("before the errand the BBS should seal with %q and hold rows under it: %+v", initial, before)
	}

	running := func() int {
		out, err := diego("actual-lrps", "-d", "deploy-local", "--process-guid", "rotate-check")
		if err != nil {
			t.Fatalf("diego actual-lrps: %v\n%s", err, out)
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			var a map[string]interface{}
			if json.Unmarshal(sc.Bytes(), &a) == nil && strings.EqualFold(str(a, "state"), "RUNNING") {
				n++
			}
		}
		return n
	}

	prev := initial
	for run := 1; run <= 2; run++ {
		step = time.Now()
		out, err := runErrandLogged(t, st, "rotate-encryption-key", "api/0", filepath.Join(root, "rotate-encryption-key-errand-"+strconv.Itoa(run)+".log"))
		t.Logf("TIMING rotate-encryption-key errand, run %d: %s", run, time.Since(step).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("errand rotate-encryption-key (run %d): %v\n%s\nVault stand-in: %s", run, err, tailLines(out, 60), vaultLog.String())
		}
		t.Logf("errand rotate-encryption-key, run %d:\n%s", run, tailLines(out, 30))

		// Vault: one key, new and active, no unfinished rotation
		doc, version := readRing()
		labels := make([]string, 0, len(doc.Keys))
		for l := range doc.Keys {
			labels = append(labels, l)
		}
		t.Logf("Vault after run %d: version %d, active %q, keys %v, rotating_to %q", run, version, doc.ActiveKeyLabel, labels, doc.RotatingTo)
		if doc.ActiveKeyLabel == prev || doc.ActiveKeyLabel == "" {
			t.Errorf("run %d: Vault's active key is %q, want a new one (was %q)", run, doc.ActiveKeyLabel, prev)
		}
		if len(doc.Keys) != 1 || doc.Keys[doc.ActiveKeyLabel] == "" {
			t.Errorf("run %d: Vault holds keys %v, want only the active %q (the old %q removed)", run, labels, doc.ActiveKeyLabel, prev)
		}
		if doc.RotatingTo != "" {
			t.Errorf("run %d: rotating_to %q left in Vault", run, doc.RotatingTo)
		}

		// the BBS: sealing with it, holding only it, every row under it
		s := status()
		under := rows(s)
		t.Logf("BBS encryption status after run %d: active %q, labels %v, pending %d, rows per label %v", run, s.ActiveLabel, s.Labels, s.PendingRows, under)
		if s.ActiveLabel != doc.ActiveKeyLabel || !slices.Equal(s.Labels, []string{doc.ActiveKeyLabel}) {
			t.Errorf("run %d: the BBS seals with %q and holds %v, want only %q", run, s.ActiveLabel, s.Labels, doc.ActiveKeyLabel)
		}
		for label, n := range under {
			if label != doc.ActiveKeyLabel && n > 0 {
				t.Errorf("run %d: %d rows still under %q", run, n, label)
			}
		}
		if under[doc.ActiveKeyLabel] == 0 {
			t.Errorf("run %d: no row under the new key %q: %+v", run, doc.ActiveKeyLabel, s)
		}

		// the LRP still reads back, its instances RUNNING
		if out, err := diego("desired-lrp", "rotate-check"); err != nil || !bytes.Contains(out, []byte("rotate-check")) {
			t.Errorf("run %d: diego desired-lrp rotate-check: %v\n%s", run, err, out)
		}
		if n := running(); n != 3 {
			t.Errorf("run %d: %d instances of rotate-check RUNNING, want 3", run, n)
		}
		if t.Failed() {
			return
		}
		prev = doc.ActiveKeyLabel
	}
	diego("delete-desired-lrp", "rotate-check")

	d.down(t)
	bridge := st.Bridge
	if bridge == "" {
		bridge = "dlbr0"
	}
	if err := exec.Command("ip", "link", "show", bridge).Run(); err == nil {
		t.Errorf("bridge %s left behind", bridge)
	}
	t.Logf("TIMING TestRotateErrandLocal in all: %s", time.Since(start).Round(time.Second))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
