// Package identity issues Diego's instance identity credentials: a key and
// a certificate per container, signed by the cell's identity CA, written
// where the container sees them and renewed before they expire, as the
// reference executor's credential manager does.
package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/wallclock"
)

// Where the credentials appear inside a container, and their file names
// (the executor's).
const (
	ContainerDir = "/etc/cf-instance-credentials"
	CertFile     = "instance.crt"
	KeyFile      = "instance.key"
)

// DefaultValidity is the BOSH default of
// diego.executor.instance_identity_validity_period_in_hours (24).
const DefaultValidity = 24 * time.Hour

// Backdate is how long before its issue a credential is valid from: the
// peers that verify it (other apps, the router) may be that far behind the
// cell's clock. The reference makes it valid from the cell's "now", so a
// cell whose clock runs ahead issues credentials its peers refuse until
// their clocks catch up. The CA's own validity still bounds it.
const Backdate = 5 * time.Minute

// keyBits is the size of every instance key (the executor's RSA 2048).
const keyBits = 2048

// Issuer signs instance credentials with the identity CA.
type Issuer struct {
	CA       *pki.CA
	Validity time.Duration
	// Now and Rand default to wallclock.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
	// Keys, when set, supplies the keys (generated ahead); nil generates
	// each key when the credential is issued.
	Keys *KeyPool
}

// NewIssuer loads the identity CA from PEM files (the CA certificate and its
// key) for credentials valid for validity.
func NewIssuer(caCertFile, caKeyFile string, validity time.Duration) (*Issuer, error) {
	if validity <= 0 {
		return nil, errors.New("instance identity validity period must be positive")
	}
	ca, err := pki.LoadCA(caCertFile, caKeyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the instance identity CA: %w", err)
	}
	return &Issuer{CA: ca, Validity: validity}, nil
}

// Subject is what a credential says about its container.
type Subject struct {
	// GUID is the container's guid (the instance guid, or the task guid):
	// the common name and the DNS name of the certificate.
	GUID string
	// IP is the container's internal IP (or, without one, the cell's): the
	// certificate's IP SAN; empty gives none.
	IP string
	// OrganizationalUnits are the desired LRP's or task's
	// certificate_properties.organizational_unit, as given (Cloud Controller
	// sends "app:GUID", "space:GUID", "organization:GUID").
	OrganizationalUnits []string
}

// Credential is a PEM key (PKCS#1, "RSA PRIVATE KEY") and certificate chain
// (the leaf, then the CA).
type Credential struct {
	CertPEM, KeyPEM     []byte
	NotBefore, NotAfter time.Time
}

func (i *Issuer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return wallclock.Now()
}

func (i *Issuer) rand() io.Reader {
	if i.Rand != nil {
		return i.Rand
	}
	return rand.Reader
}

func (i *Issuer) key() (*rsa.PrivateKey, error) {
	if i.Keys != nil {
		return i.Keys.Get()
	}
	key, err := rsa.GenerateKey(i.rand(), keyBits)
	if err != nil {
		return nil, fmt.Errorf("generating an instance identity key: %w", err)
	}
	return key, nil
}

// Issue makes a new key and a certificate for s valid from Backdate ago
// until Validity from now.
func (i *Issuer) Issue(s Subject) (Credential, error) {
	key, err := i.key()
	if err != nil {
		return Credential{}, err
	}
	serial := make([]byte, 16)
	if _, err := io.ReadFull(i.rand(), serial); err != nil {
		return Credential{}, fmt.Errorf("generating a serial number: %w", err)
	}
	now := i.now()
	notBefore := now.Add(-Backdate)
	if caFrom := i.CA.Certificate().NotBefore; notBefore.Before(caFrom) {
		notBefore = caFrom
	}
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial),
		Subject:      pkix.Name{CommonName: s.GUID, OrganizationalUnit: s.OrganizationalUnits},
		DNSNames:     []string{s.GUID},
		NotBefore:    notBefore,
		NotAfter:     now.Add(i.Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	if s.IP != "" {
		ip := net.ParseIP(s.IP)
		if ip == nil {
			return Credential{}, fmt.Errorf("instance identity: %q is not an IP address", s.IP)
		}
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(i.rand(), tmpl, i.CA.Certificate(), key.Public(), i.CA.Signer())
	if err != nil {
		return Credential{}, fmt.Errorf("signing the instance identity certificate of %s: %w", s.GUID, err)
	}
	var chain bytes.Buffer
	_ = pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: i.CA.Certificate().Raw})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return Credential{CertPEM: chain.Bytes(), KeyPEM: keyPEM, NotBefore: tmpl.NotBefore, NotAfter: tmpl.NotAfter}, nil
}

// RenewAfter is how long after issuing a credential valid for validity the
// executor issues the next one: 30 minutes before expiry for validities
// over 4 hours, an eighth of the validity before otherwise.
func RenewAfter(validity time.Duration) time.Duration {
	if validity > 4*time.Hour {
		return validity - 30*time.Minute
	}
	return validity - validity/8
}

// Env is CF_INSTANCE_CERT and CF_INSTANCE_KEY naming the credentials at
// ContainerDir.
func Env() []string {
	return []string{
		"CF_INSTANCE_CERT=" + path.Join(ContainerDir, CertFile),
		"CF_INSTANCE_KEY=" + path.Join(ContainerDir, KeyFile),
	}
}

// Write puts c into dir as KeyFile and CertFile, each replaced atomically
// (key first, as the executor), readable by the container's user.
func Write(dir string, c Credential) error {
	for _, f := range []struct {
		name string
		data []byte
	}{{KeyFile, c.KeyPEM}, {CertFile, c.CertPEM}} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p+".tmp", f.data, 0o644); err != nil {
			return fmt.Errorf("writing instance identity %s: %w", f.name, err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			return fmt.Errorf("writing instance identity %s: %w", f.name, err)
		}
	}
	return nil
}

// IssueTo issues s's credential and writes it into dir.
func (i *Issuer) IssueTo(dir string, s Subject) (Credential, error) {
	c, err := i.Issue(s)
	if err != nil {
		return Credential{}, err
	}
	return c, Write(dir, c)
}

// Renew reissues s's credential into dir every RenewAfter(Validity) until
// ctx ends; after is the timer (time.After outside tests). A failed renewal
// is reported to onErr and tried again at the next period, a failure while
// the previous credential is still valid leaves it in place.
func (i *Issuer) Renew(ctx context.Context, dir string, s Subject, after func(time.Duration) <-chan time.Time, onErr func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-after(RenewAfter(i.Validity)):
		}
		if _, err := i.IssueTo(dir, s); err != nil && onErr != nil {
			onErr(err)
		}
	}
}
