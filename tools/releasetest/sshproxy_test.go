package releasetest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// TestSSHProxyJob renders the ssh_proxy job on its own (whatever the
// manifests place) for the realms' property sets, checks the rendered
// config with `ssh-proxy -check-config`, and checks that a job with no realm
// enabled refuses to render.
func TestSSHProxyJob(t *testing.T) {
	bins := binaries(t)
	renderer := boshrel.NewRenderer()
	jobs, err := boshrel.ReadJobs(repo, renderer.FS)
	if err != nil {
		t.Fatal(err)
	}
	job := jobs["ssh_proxy"]
	if job == nil {
		t.Fatal("no jobs/ssh_proxy")
	}
	ca, cert, key := testCert(t)
	bbs := map[interface{}]interface{}{"ca_cert": ca, "client_cert": cert, "client_key": key}
	hostKey := testHostKey(t)
	for _, tc := range []struct {
		name  string
		props map[interface{}]interface{}
		want  map[string]interface{} // fields of the rendered config
		error string
	}{
		{name: "diego-realm", props: map[interface{}]interface{}{"host_key": hostKey, "bbs": bbs,
			"enable_diego_auth": true, "diego_credentials": "secret"},
			want: map[string]interface{}{"address": "0.0.0.0:2222", "enable_diego_auth": true, "diego_credentials": "secret",
				"idle_connection_timeout": "300s", "max_connections": float64(1000), "bbs_address": "https://bbs.service.cf.internal:8889"}},
		{name: "cf-realm", props: map[interface{}]interface{}{"host_key": hostKey, "bbs": bbs, "enable_cf_auth": true,
			"uaa_secret": "s", "uaa": map[interface{}]interface{}{"ca_cert": ca}, "allowed_ciphers": "aes256-ctr",
			"idle_connection_timeout_in_seconds": 60, "disable_healthcheck_server": true, "debug_addr": ""},
			want: map[string]interface{}{"enable_cf_auth": true, "cc_api_url": "http://cloud-controller-ng.service.cf.internal:9022",
				"uaa_token_url": "https://uaa.service.cf.internal:8443/oauth/token", "uaa_username": "ssh-proxy", "uaa_password": "s",
				"allowed_ciphers": "aes256-ctr", "idle_connection_timeout": "60s"}},
		{name: "no-realm", props: map[interface{}]interface{}{"host_key": hostKey, "bbs": bbs}, error: "enable diego.ssh_proxy.enable_diego_auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := boshrel.JobRef{Name: "ssh_proxy", Release: "diego", Properties: map[interface{}]interface{}{
				"diego": map[interface{}]interface{}{"ssh_proxy": tc.props}}}
			ig := boshrel.InstanceGroup{Name: "ssh-proxy", Instances: 1, Jobs: []boshrel.JobRef{ref}}
			m := &boshrel.Manifest{Name: "diego", InstanceGroups: []boshrel.InstanceGroup{ig}}
			root := filepath.Join(t.TempDir(), "vcap")
			out, err := renderer.Render(job, ig, ref, m, filepath.Join(root, "jobs"))
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("rendering: %v; want an error containing %q", err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatalf("rendering: %v", err)
			}
			checkRendered(t, "[ssh_proxy "+tc.name+"]", job, out, root, bins)
			b, err := os.ReadFile(filepath.Join(out, "config", "ssh_proxy.json"))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]interface{}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

// testCert is a self-signed CA and a certificate with its key, PEM-encoded.
func testCert(t *testing.T) (ca, cert, key string) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	c := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return c, c, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// testHostKey is an Ed25519 private key in PKCS#8 PEM.
func testHostKey(t *testing.T) string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
