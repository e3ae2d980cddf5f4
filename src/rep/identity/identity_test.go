package identity_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/identity"
)

func newIssuer(t *testing.T, now time.Time, validity time.Duration) *identity.Issuer {
	t.Helper()
	ca, err := pki.NewCA("instance-identity-test-ca")
	if err != nil {
		t.Fatal(err)
	}
	return &identity.Issuer{CA: ca, Validity: validity, Now: func() time.Time { return now }}
}

// parse returns the certificates of the chain and checks the key is PKCS#1
// and belongs to the leaf.
func parse(t *testing.T, c identity.Credential) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for rest := c.CertPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			t.Fatalf("chain block %q, want CERTIFICATE", b.Type)
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, cert)
	}
	kb, _ := pem.Decode(c.KeyPEM)
	if kb == nil || kb.Type != "RSA PRIVATE KEY" {
		t.Fatalf("key PEM %q: want an RSA PRIVATE KEY block", c.KeyPEM)
	}
	key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) == 0 || !key.PublicKey.Equal(certs[0].PublicKey) {
		t.Fatal("the key does not belong to the leaf certificate")
	}
	return certs
}

func TestIssueSubjectSANsChainValidity(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second) // certificates keep whole seconds; the CA is valid from now
	iss := newIssuer(t, now, 24*time.Hour)
	ous := []string{"app:a-guid", "space:s-guid", "organization:o-guid"}
	c, err := iss.Issue(identity.Subject{GUID: "instance-guid", IP: "10.254.0.2", OrganizationalUnits: ous})
	if err != nil {
		t.Fatal(err)
	}
	certs := parse(t, c)
	if len(certs) != 2 || !certs[1].Equal(iss.CA.Certificate()) {
		t.Fatalf("chain has %d certificates, want the leaf then the CA", len(certs))
	}
	leaf := certs[0]
	if leaf.Subject.CommonName != "instance-guid" || !slices.Equal(leaf.Subject.OrganizationalUnit, ous) {
		t.Errorf("subject CN %q OU %v, want instance-guid and %v", leaf.Subject.CommonName, leaf.Subject.OrganizationalUnit, ous)
	}
	if !slices.Equal(leaf.DNSNames, []string{"instance-guid"}) || len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "10.254.0.2" {
		t.Errorf("SANs DNS %v IP %v, want the guid and the container IP", leaf.DNSNames, leaf.IPAddresses)
	}
	from := now.Add(-identity.Backdate)
	if caFrom := iss.CA.Certificate().NotBefore; from.Before(caFrom) {
		from = caFrom
	}
	if !leaf.NotBefore.Equal(from) || !leaf.NotAfter.Equal(now.Add(24*time.Hour)) || !c.NotAfter.Equal(leaf.NotAfter) {
		t.Errorf("valid %s to %s, want from %s (backdated, within the CA's validity) to 24h after %s", leaf.NotBefore, leaf.NotAfter, from, now)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ext key usage %v, want client and server auth", leaf.ExtKeyUsage)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: iss.CA.Pool(), CurrentTime: now.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("leaf does not verify against the identity CA: %v", err)
	}
	// Without an IP there is no IP SAN; a bad IP is an error.
	c, err = iss.Issue(identity.Subject{GUID: "task-guid"})
	if err != nil {
		t.Fatal(err)
	}
	if leaf := parse(t, c)[0]; len(leaf.IPAddresses) != 0 || len(leaf.Subject.OrganizationalUnit) != 0 {
		t.Errorf("IP SANs %v OU %v, want none", leaf.IPAddresses, leaf.Subject.OrganizationalUnit)
	}
	if _, err := iss.Issue(identity.Subject{GUID: "g", IP: "not-an-ip"}); err == nil {
		t.Error("Issue with IP not-an-ip succeeded")
	}
}

func TestRenewAfter(t *testing.T) {
	for validity, want := range map[time.Duration]time.Duration{
		24 * time.Hour:   23*time.Hour + 30*time.Minute,
		5 * time.Hour:    4*time.Hour + 30*time.Minute,
		4 * time.Hour:    3*time.Hour + 30*time.Minute, // 4h - 4h/8
		time.Hour:        52*time.Minute + 30*time.Second,
		80 * time.Second: 70 * time.Second,
	} {
		if got := identity.RenewAfter(validity); got != want {
			t.Errorf("RenewAfter(%s) = %s, want %s", validity, got, want)
		}
	}
}

func TestEnv(t *testing.T) {
	want := []string{"CF_INSTANCE_CERT=/etc/cf-instance-credentials/instance.crt", "CF_INSTANCE_KEY=/etc/cf-instance-credentials/instance.key"}
	if got := identity.Env(); !slices.Equal(got, want) {
		t.Errorf("Env() = %v, want %v", got, want)
	}
}

func readLeaf(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	crt, err := os.ReadFile(filepath.Join(dir, identity.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, identity.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, identity.Credential{CertPEM: crt, KeyPEM: key})[0]
}

func TestRenewReissuesEveryPeriodUntilCancelled(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second) // certificates keep whole seconds; the CA is valid from now
	iss := newIssuer(t, now, time.Hour)
	iss.Now = func() time.Time { return now }
	dir := t.TempDir()
	s := identity.Subject{GUID: "g", IP: "127.0.0.1"}
	if _, err := iss.IssueTo(dir, s); err != nil {
		t.Fatal(err)
	}
	first := readLeaf(t, dir)

	ctx, cancel := context.WithCancel(t.Context())
	periods := make(chan time.Duration)
	fire := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		defer close(done)
		iss.Renew(ctx, dir, s, func(d time.Duration) <-chan time.Time { periods <- d; return fire }, func(err error) { t.Error(err) })
	}()
	for round := 1; round <= 2; round++ {
		if d := <-periods; d != identity.RenewAfter(time.Hour) {
			t.Fatalf("renewal %d waits %s, want %s", round, d, identity.RenewAfter(time.Hour))
		}
		now = now.Add(identity.RenewAfter(time.Hour))
		fire <- now
	}
	<-periods // the third wait: the second renewal is written
	leaf := readLeaf(t, dir)
	if leaf.SerialNumber.Cmp(first.SerialNumber) == 0 || !leaf.NotBefore.Equal(now.Add(-identity.Backdate)) {
		t.Errorf("after two renewals: serial %v (first %v), not before %s, want a new certificate from %s", leaf.SerialNumber, first.SerialNumber, leaf.NotBefore, now.Add(-identity.Backdate))
	}
	cancel()
	<-done
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("dir holds %d entries, want instance.crt and instance.key only", len(entries))
	}
}

// TestIssuedAheadVerifiesNow: a cell whose clock runs 30 s ahead of its
// peers issues credentials they accept at once (the reference's are
// refused until the peers' clocks reach the cell's "now").
func TestIssuedAheadVerifiesNow(t *testing.T) {
	ca, err := pki.NewCA("instance-identity-test-ca")
	if err != nil {
		t.Fatal(err)
	}
	peerNow := time.Now()
	iss := &identity.Issuer{CA: ca, Validity: time.Hour, Now: func() time.Time { return peerNow.Add(30 * time.Second) }}
	c, err := iss.Issue(identity.Subject{GUID: "g", IP: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := parse(t, c)[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: peerNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("a peer 30 s behind the cell refuses its fresh credential: %v", err)
	}
	if !leaf.NotBefore.Before(peerNow) || leaf.NotBefore.Before(ca.Certificate().NotBefore) {
		t.Errorf("valid from %s: want before the peer's %s and not before the CA's %s", leaf.NotBefore, peerNow, ca.Certificate().NotBefore)
	}
}
