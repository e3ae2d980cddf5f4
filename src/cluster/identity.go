package cluster

// The cells' instance identity CA: made once per cluster directory, kept
// while valid, and given to every rep with a directory of trusted
// certificates holding it.

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/diego-go/diego/src/pki"
)

// identityCACommonName names the CA that signs the containers' instance
// identity certificates.
const identityCACommonName = "diego-instance-identity-ca"

// identityCARenewBefore: a CA expiring sooner than this is replaced.
const identityCARenewBefore = 30 * 24 * time.Hour

func (l layout) identityDir() string    { return filepath.Join(l.dir, "certs", "instance-identity") }
func (l layout) identityCACert() string { return filepath.Join(l.identityDir(), "ca.crt") }
func (l layout) identityCAKey() string  { return filepath.Join(l.identityDir(), "ca.key") }

// trustedCertsDir is mounted into every container at the
// trusted_system_certificates_path a desired LRP or task asks for.
func (l layout) trustedCertsDir() string { return filepath.Join(l.dir, "certs", "trusted") }

// ensureIdentityCA makes the instance identity CA unless a valid one is
// there, and the trusted certificates directory holding its certificate;
// it reports whether it generated the CA.
func (l layout) ensureIdentityCA() (bool, error) {
	ca, err := pki.LoadCA(l.identityCACert(), l.identityCAKey())
	generated := err != nil || time.Until(ca.Certificate().NotAfter) < identityCARenewBefore
	if generated {
		if ca, err = pki.NewCA(identityCACommonName); err != nil {
			return false, fmt.Errorf("instance identity CA: %w", err)
		}
		if err := pki.WriteFiles(l.identityDir(), map[string][]byte{"ca.crt": ca.CertPEM(), "ca.key": ca.KeyPEM()}); err != nil {
			return false, fmt.Errorf("instance identity CA: %w", err)
		}
	}
	if err := os.RemoveAll(l.trustedCertsDir()); err != nil {
		return false, fmt.Errorf("trusted certificates: %w", err)
	}
	if err := pki.WriteFiles(l.trustedCertsDir(), map[string][]byte{"instance-identity-ca.crt": ca.CertPEM()}); err != nil {
		return false, fmt.Errorf("trusted certificates: %w", err)
	}
	return generated, nil
}
