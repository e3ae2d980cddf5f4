package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func parseOne(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	certs, err := parseCertsPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func TestNewCA(t *testing.T) {
	ca := mustCA(t, "test-ca")
	c := parseOne(t, ca.CertPEM())
	if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatalf("IsCA=%v KeyUsage=%v", c.IsCA, c.KeyUsage)
	}
	if c.Subject.CommonName != "test-ca" {
		t.Fatalf("CN = %q", c.Subject.CommonName)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("public key %T is not ECDSA P-256", c.PublicKey)
	}
	if d := time.Until(c.NotAfter); d < 9*365*24*time.Hour || d > 10*366*24*time.Hour {
		t.Fatalf("CA validity %s, want about ten years", d)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	if _, err := NewCA(""); err == nil {
		t.Fatal("NewCA accepted an empty common name")
	}
}

func TestIssue(t *testing.T) {
	ca := mustCA(t, "test-ca")
	tests := []struct {
		name     string
		opts     IssueOptions
		wantErr  string
		wantDNS  []string
		wantIPs  []string
		wantEKU  []x509.ExtKeyUsage
		validity time.Duration
	}{
		{name: "server with hosts",
			opts:    IssueOptions{CommonName: "s", Hosts: []string{"bbs.service.cf.internal", "10.0.0.1", "[::1]", " "}, Server: true},
			wantDNS: []string{"bbs.service.cf.internal"}, wantIPs: []string{"10.0.0.1", "::1"},
			wantEKU: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, validity: defaultLeafValidity},
		{name: "client",
			opts:    IssueOptions{CommonName: "c", Client: true, Validity: time.Hour},
			wantEKU: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, validity: time.Hour},
		{name: "both",
			opts:    IssueOptions{CommonName: "b", Server: true, Client: true},
			wantEKU: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, validity: defaultLeafValidity},
		{name: "capped at CA expiry",
			opts:    IssueOptions{CommonName: "long", Client: true, Validity: 20 * 365 * 24 * time.Hour},
			wantEKU: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, validity: caValidity},
		{name: "no usage", opts: IssueOptions{CommonName: "x"}, wantErr: "neither Server nor Client"},
		{name: "no name", opts: IssueOptions{Server: true}, wantErr: "common name is empty"},
		{name: "negative validity", opts: IssueOptions{CommonName: "n", Server: true, Validity: -time.Hour}, wantErr: "negative validity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf, err := ca.Issue(tt.opts)
			if expectErr(t, err, tt.wantErr) {
				return
			}
			c := parseOne(t, leaf.CertPEM)
			if c.Subject.CommonName != tt.opts.CommonName || c.IsCA {
				t.Fatalf("CN=%q IsCA=%v", c.Subject.CommonName, c.IsCA)
			}
			if !slices.Equal(c.DNSNames, tt.wantDNS) {
				t.Errorf("DNSNames = %v, want %v", c.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IPAddresses = %v, want %v", ips, tt.wantIPs)
			}
			if !slices.Equal(c.ExtKeyUsage, tt.wantEKU) {
				t.Errorf("ExtKeyUsage = %v, want %v", c.ExtKeyUsage, tt.wantEKU)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: tt.wantEKU}); err != nil {
				t.Errorf("does not verify against the CA: %v", err)
			}
			if d := time.Until(c.NotAfter); d > tt.validity || d < tt.validity-time.Minute {
				t.Errorf("remaining validity %s, want about %s", d, tt.validity)
			}
			if _, err := leaf.TLSCertificate(); err != nil {
				t.Errorf("TLSCertificate: %v", err)
			}
		})
	}
}

func TestLoadCA(t *testing.T) {
	dir := t.TempDir()
	ca := mustCA(t, "load-me")
	other := mustCA(t, "other")
	leaf := issue(t, ca, IssueOptions{CommonName: "leaf", Client: true})
	// The same key in SEC 1 form, as openssl ecparam writes it.
	block, _ := pem.Decode(ca.KeyPEM())
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(k.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"ca.crt":      ca.CertPEM(),
		"ca.key":      ca.KeyPEM(),
		"ec.key":      pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"other.key":   other.KeyPEM(),
		"leaf.crt":    leaf.CertPEM,
		"leaf.key":    leaf.KeyPEM,
		"garbage.crt": []byte("hello"),
	}
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }

	tests := []struct {
		name, cert, key, wantErr string
	}{
		{name: "PKCS#8 key", cert: "ca.crt", key: "ca.key"},
		{name: "SEC 1 key", cert: "ca.crt", key: "ec.key"},
		{name: "wrong key", cert: "ca.crt", key: "other.key", wantErr: p("other.key") + " and " + p("ca.crt") + ": private key does not match"},
		{name: "not a CA", cert: "leaf.crt", key: "leaf.key", wantErr: p("leaf.crt") + `: certificate "leaf" is not a CA`},
		{name: "no PEM", cert: "garbage.crt", key: "ca.key", wantErr: p("garbage.crt") + ": no PEM certificate found"},
		{name: "key file without key", cert: "ca.crt", key: "ca.crt", wantErr: p("ca.crt") + ": no PEM private key found"},
		{name: "missing key", cert: "ca.crt", key: "nope.key", wantErr: "reading CA key file " + p("nope.key") + ": no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadCA(p(tt.cert), p(tt.key))
			if expectErr(t, err, tt.wantErr) {
				return
			}
			if !bytes.Equal(got.CertPEM(), ca.CertPEM()) {
				t.Fatal("loaded certificate differs")
			}
			issued := issue(t, got, IssueOptions{CommonName: "x", Server: true})
			if _, err := parseOne(t, issued.CertPEM).Verify(x509.VerifyOptions{Roots: ca.Pool()}); err != nil {
				t.Fatalf("certificate issued by the loaded CA does not verify: %v", err)
			}
		})
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "certs")
	ca := mustCA(t, "w")
	files := map[string][]byte{"ca.crt": ca.CertPEM(), "ca.key": ca.KeyPEM(), "key.pem": ca.KeyPEM(), "notes.txt": []byte("hi")}
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	wantMode := map[string]os.FileMode{"ca.crt": 0o644, "ca.key": 0o600, "key.pem": 0o600, "notes.txt": 0o644}
	for name, mode := range wantMode {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode = %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(files) {
		t.Errorf("directory holds %d entries, want %d (temporary files left?)", len(entries), len(files))
	}
	for _, bad := range []string{"../escape.crt", "sub/x.crt", ""} {
		if err := WriteFiles(dir, map[string][]byte{bad: nil}); err == nil {
			t.Errorf("WriteFiles accepted name %q", bad)
		}
	}
}

func readAll(t *testing.T, b *Bundle) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range b.Files() {
		data, err := os.ReadFile(f[1])
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out[f[0]] = data
	}
	return out
}

func changed(before, after map[string][]byte) []string {
	var names []string
	for name := range before {
		if !bytes.Equal(before[name], after[name]) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

var allFiles = []string{"admin.crt", "admin.key", "ca.crt", "ca.key", "client.crt", "client.key", "server.crt", "server.key"}

func TestGenerateLocal(t *testing.T) {
	dir := t.TempDir()
	b, err := GenerateLocal(dir, []string{"bbs.local", "10.1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(b.CACert) || filepath.Dir(b.AdminKey) != b.Dir {
		t.Fatalf("paths not absolute or not in %s: %+v", b.Dir, b)
	}
	if !slices.Equal(b.Generated, allFiles) || len(b.Reused) != 0 {
		t.Fatalf("Generated=%v Reused=%v", b.Generated, b.Reused)
	}
	files := readAll(t, b)
	ca := parseOne(t, files["ca.crt"])
	wantCN := map[string]string{"server.crt": "diego-server", "client.crt": "diego-client", "admin.crt": "diego-admin"}
	for name, cn := range wantCN {
		c := parseOne(t, files[name])
		if c.Subject.CommonName != cn {
			t.Errorf("%s CN = %q, want %q", name, c.Subject.CommonName, cn)
		}
		if err := c.CheckSignatureFrom(ca); err != nil {
			t.Errorf("%s not signed by the CA: %v", name, err)
		}
	}
	server := parseOne(t, files["server.crt"])
	for _, h := range []string{"bbs.local", "10.1.2.3", "localhost", "127.0.0.1", "::1"} {
		if err := server.VerifyHostname(h); err != nil {
			t.Errorf("server certificate does not cover %s: %v", h, err)
		}
	}
	for _, f := range b.Files() {
		fi, err := os.Stat(f[1])
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o644)
		if strings.HasSuffix(f[0], ".key") {
			want = 0o600
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", f[0], fi.Mode().Perm(), want)
		}
	}
}

func TestGenerateLocalReuse(t *testing.T) {
	ca := mustCA(t, "x")
	tests := []struct {
		name        string
		hosts       []string
		tamper      func(t *testing.T, b *Bundle)
		wantChanged []string
	}{
		{name: "valid files are kept", hosts: []string{"bbs.local"}},
		{name: "requested hosts already covered", hosts: []string{"localhost", "::1"}},
		{name: "new host reissues the server cert", hosts: []string{"bbs.local", "other.local"},
			wantChanged: []string{"server.crt", "server.key"}},
		{name: "corrupt client cert", hosts: []string{"bbs.local"},
			tamper:      func(t *testing.T, b *Bundle) { write(t, b.ClientCert, []byte("junk")) },
			wantChanged: []string{"client.crt", "client.key"}},
		{name: "missing admin key", hosts: []string{"bbs.local"},
			tamper:      func(t *testing.T, b *Bundle) { remove(t, b.AdminKey) },
			wantChanged: []string{"admin.crt", "admin.key"}},
		{name: "key does not match cert", hosts: []string{"bbs.local"},
			tamper: func(t *testing.T, b *Bundle) {
				data, _ := os.ReadFile(b.ServerKey)
				write(t, b.ClientKey, data)
			},
			wantChanged: []string{"client.crt", "client.key"}},
		{name: "leaf expiring within 30 days", hosts: []string{"bbs.local"},
			tamper: func(t *testing.T, b *Bundle) {
				c := issueWith(t, b, IssueOptions{CommonName: "diego-admin", Client: true, Validity: 10 * 24 * time.Hour})
				write(t, b.AdminCert, c.CertPEM)
				write(t, b.AdminKey, c.KeyPEM)
			},
			wantChanged: []string{"admin.crt", "admin.key"}},
		{name: "leaf signed by another CA", hosts: []string{"bbs.local"},
			tamper: func(t *testing.T, b *Bundle) {
				c, err := ca.Issue(IssueOptions{CommonName: "diego-client", Client: true})
				if err != nil {
					t.Fatal(err)
				}
				write(t, b.ClientCert, c.CertPEM)
				write(t, b.ClientKey, c.KeyPEM)
			},
			wantChanged: []string{"client.crt", "client.key"}},
		{name: "leaf with the wrong usage", hosts: []string{"bbs.local"},
			tamper: func(t *testing.T, b *Bundle) {
				c := issueWith(t, b, IssueOptions{CommonName: "diego-server", Hosts: []string{"bbs.local", "localhost", "127.0.0.1", "::1"}, Client: true})
				write(t, b.ServerCert, c.CertPEM)
				write(t, b.ServerKey, c.KeyPEM)
			},
			wantChanged: []string{"server.crt", "server.key"}},
		{name: "CA expiring within 30 days regenerates everything", hosts: []string{"bbs.local"},
			tamper: func(t *testing.T, b *Bundle) {
				short, err := newCA("short", 20*24*time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				write(t, b.CACert, short.CertPEM())
				write(t, b.CAKey, short.KeyPEM())
			},
			wantChanged: allFiles},
		{name: "missing CA key regenerates everything", hosts: []string{"bbs.local"},
			tamper:      func(t *testing.T, b *Bundle) { remove(t, b.CAKey) },
			wantChanged: allFiles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first, err := GenerateLocal(dir, []string{"bbs.local"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.tamper != nil {
				tt.tamper(t, first)
			}
			before := readAll(t, first)
			second, err := GenerateLocal(dir, tt.hosts)
			if err != nil {
				t.Fatal(err)
			}
			after := readAll(t, second)
			if got := changed(before, after); !slices.Equal(got, tt.wantChanged) {
				t.Fatalf("changed files %v, want %v", got, tt.wantChanged)
			}
			if !slices.Equal(second.Generated, tt.wantChanged) {
				t.Fatalf("Bundle.Generated = %v, want %v", second.Generated, tt.wantChanged)
			}
			if len(second.Generated)+len(second.Reused) != len(allFiles) {
				t.Fatalf("Generated %v + Reused %v do not cover all files", second.Generated, second.Reused)
			}
			// Whatever was kept or replaced, the set must still work together.
			if _, err := ServerTLSConfig(second.CACert, second.ServerCert, second.ServerKey); err != nil {
				t.Fatal(err)
			}
			for _, c := range [][2]string{{second.ClientCert, second.ClientKey}, {second.AdminCert, second.AdminKey}} {
				if _, err := ClientTLSConfig(second.CACert, c[0], c[1]); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestGenerateLocalUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	b, err := GenerateLocal(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A file that exists but cannot be read is reported, not overwritten.
	remove(t, b.CAKey)
	if err := os.Mkdir(b.CAKey, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = GenerateLocal(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "reading CA key file "+b.CAKey) {
		t.Fatalf("err = %v, want a read error naming %s", err, b.CAKey)
	}
}

func issueWith(t *testing.T, b *Bundle, opts IssueOptions) *Cert {
	t.Helper()
	ca, err := LoadCA(b.CACert, b.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	return issue(t, ca, opts)
}

// mustCA is NewCA, failing t on error.
func mustCA(t *testing.T, name string) *CA {
	t.Helper()
	ca, err := NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// issue is ca.Issue, failing t on error.
func issue(t *testing.T, ca *CA, opts IssueOptions) *Cert {
	t.Helper()
	c, err := ca.Issue(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// expectErr checks err against want: an error containing want when want is
// set (and then reports true: the case ends there), no error otherwise.
func expectErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want %q", err, want)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
