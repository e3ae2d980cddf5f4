package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Common names and file names used by GenerateLocal.
const (
	LocalCACommonName     = "diego-local-ca"
	LocalServerCommonName = "diego-server"
	LocalClientCommonName = "diego-client"
	LocalAdminCommonName  = "diego-admin"

	// renewBefore: GenerateLocal replaces certificates expiring sooner than this.
	renewBefore = 30 * 24 * time.Hour
)

// defaultServerHosts are always in the local server certificate.
var defaultServerHosts = []string{"localhost", "127.0.0.1", "::1"}

// Bundle holds the absolute paths of the files written by GenerateLocal.
type Bundle struct {
	Dir        string
	CACert     string
	CAKey      string
	ServerCert string
	ServerKey  string
	ClientCert string
	ClientKey  string
	AdminCert  string
	AdminKey   string
	// Generated and Reused list the base names of the files that were
	// (re)written and those that were valid and kept as they were.
	Generated []string
	Reused    []string
}

// Files returns the bundle's file names (base name to absolute path), in a stable order.
func (b *Bundle) Files() [][2]string {
	return [][2]string{
		{"ca.crt", b.CACert}, {"ca.key", b.CAKey},
		{"server.crt", b.ServerCert}, {"server.key", b.ServerKey},
		{"client.crt", b.ClientCert}, {"client.key", b.ClientKey},
		{"admin.crt", b.AdminCert}, {"admin.key", b.AdminKey},
	}
}

// leafSpec describes one of the local leaf certificates.
type leafSpec struct {
	name string // file base name without extension
	opts IssueOptions
}

// GenerateLocal makes sure dir holds a CA and server, client and admin
// certificates for local runs: ca.crt ca.key server.crt server.key client.crt
// client.key admin.crt admin.key. Files that exist and are valid (they parse,
// are signed by the CA, match their purpose and do not expire within 30 days)
// are kept; anything else is (re)generated. A missing or invalid CA causes
// every file to be regenerated. The server certificate covers hosts plus
// localhost, 127.0.0.1 and ::1, and may also act as a client (a component
// calling another, as the BBS calls reps), as BOSH-generated Diego certs do.
func GenerateLocal(dir string, hosts []string) (*Bundle, error) {
	if dir == "" {
		return nil, errors.New("pki: directory is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("pki: resolving %s: %w", dir, err)
	}
	b := &Bundle{
		Dir:        abs,
		CACert:     filepath.Join(abs, "ca.crt"),
		CAKey:      filepath.Join(abs, "ca.key"),
		ServerCert: filepath.Join(abs, "server.crt"),
		ServerKey:  filepath.Join(abs, "server.key"),
		ClientCert: filepath.Join(abs, "client.crt"),
		ClientKey:  filepath.Join(abs, "client.key"),
		AdminCert:  filepath.Join(abs, "admin.crt"),
		AdminKey:   filepath.Join(abs, "admin.key"),
	}
	serverHosts := mergeHosts(hosts, defaultServerHosts)
	leaves := []leafSpec{
		{"server", IssueOptions{CommonName: LocalServerCommonName, Hosts: serverHosts, Server: true, Client: true}},
		{"client", IssueOptions{CommonName: LocalClientCommonName, Client: true}},
		{"admin", IssueOptions{CommonName: LocalAdminCommonName, Client: true}},
	}

	out := map[string][]byte{}
	ca, err := reusableCA(b.CACert, b.CAKey)
	if err != nil {
		return nil, err
	}
	caReused := ca != nil
	if !caReused {
		if ca, err = NewCA(LocalCACommonName); err != nil {
			return nil, err
		}
		out["ca.crt"], out["ca.key"] = ca.CertPEM(), ca.KeyPEM()
	} else {
		b.Reused = append(b.Reused, "ca.crt", "ca.key")
	}
	for _, l := range leaves {
		certFile := filepath.Join(abs, l.name+".crt")
		keyFile := filepath.Join(abs, l.name+".key")
		if caReused {
			ok, err := reusableLeaf(ca, certFile, keyFile, l.opts)
			if err != nil {
				return nil, err
			}
			if ok {
				b.Reused = append(b.Reused, l.name+".crt", l.name+".key")
				continue
			}
		}
		c, err := ca.Issue(l.opts)
		if err != nil {
			return nil, err
		}
		out[l.name+".crt"], out[l.name+".key"] = c.CertPEM, c.KeyPEM
	}
	if err := WriteFiles(abs, out); err != nil {
		return nil, err
	}
	for name := range out {
		b.Generated = append(b.Generated, name)
	}
	sort.Strings(b.Generated)
	return b, nil
}

// reusableCA loads the CA files if both exist and are valid for at least
// renewBefore; it returns nil (no error) when they should be regenerated, and
// an error only when a file exists but cannot be read.
func reusableCA(certFile, keyFile string) (*CA, error) {
	for _, f := range []string{certFile, keyFile} {
		if ok, err := exists(f); err != nil || !ok {
			return nil, err
		}
	}
	ca, err := LoadCA(certFile, keyFile)
	if err != nil {
		if re := (*readError)(nil); errors.As(err, &re) {
			return nil, err
		}
		return nil, nil
	}
	if time.Until(ca.cert.NotAfter) < renewBefore {
		return nil, nil
	}
	return ca, nil
}

// reusableLeaf reports whether certFile/keyFile are a valid pair signed by ca,
// fit opts (common name, usages, hosts) and do not expire within renewBefore.
func reusableLeaf(ca *CA, certFile, keyFile string, opts IssueOptions) (bool, error) {
	for _, f := range []string{certFile, keyFile} {
		if ok, err := exists(f); err != nil || !ok {
			return false, err
		}
	}
	certPEM, keyPEM, err := readCertAndKey("", certFile, keyFile)
	if err != nil {
		return false, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, nil
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return false, nil
	}
	if leaf.Subject.CommonName != opts.CommonName || time.Until(leaf.NotAfter) < renewBefore {
		return false, nil
	}
	var usages []x509.ExtKeyUsage
	if opts.Server {
		usages = append(usages, x509.ExtKeyUsageServerAuth)
	}
	if opts.Client {
		usages = append(usages, x509.ExtKeyUsageClientAuth)
	}
	for _, u := range usages {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{u}}); err != nil {
			return false, nil
		}
	}
	for _, h := range opts.Hosts {
		if !hasSAN(leaf, h) {
			return false, nil
		}
	}
	return true, nil
}

// hasSAN reports whether cert lists host literally among its subject
// alternative names (so wildcard names compare as written).
func hasSAN(cert *x509.Certificate, host string) bool {
	if ip := parseIP(host); ip != nil {
		return slices.ContainsFunc(cert.IPAddresses, ip.Equal)
	}
	return slices.ContainsFunc(cert.DNSNames, func(n string) bool { return strings.EqualFold(n, host) })
}

// mergeHosts returns hosts followed by the extra names not already present,
// without blanks or duplicates.
func mergeHosts(hosts, extra []string) []string {
	var out []string
	for _, h := range slices.Concat(hosts, extra) {
		h = strings.TrimSpace(h)
		if ip := parseIP(h); ip != nil {
			h = ip.String()
		}
		if h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}
