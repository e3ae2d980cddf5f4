package cluster

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	repdaemon "github.com/diego-go/diego/src/rep/daemon"
	"github.com/diego-go/diego/src/rep/identity"
)

// TestIdentityCA: diego up makes the instance identity CA once, keeps it on
// the next start, trusts it in every container, and configures each rep
// with it; the rep's issuer loads it.
func TestIdentityCA(t *testing.T) {
	l := testLayout(t) // makes the CA
	if err := os.RemoveAll(l.identityDir()); err != nil {
		t.Fatal(err)
	}
	generated, err := l.ensureIdentityCA()
	if err != nil || !generated {
		t.Fatalf("ensureIdentityCA without a CA: generated %v, %v", generated, err)
	}
	first, err := os.ReadFile(l.identityCACert())
	if err != nil {
		t.Fatal(err)
	}
	if generated, err = l.ensureIdentityCA(); err != nil || generated {
		t.Fatalf("ensureIdentityCA again: generated %v, %v; want the CA kept", generated, err)
	}
	if again, _ := os.ReadFile(l.identityCACert()); !bytes.Equal(first, again) {
		t.Error("the CA changed on the second start")
	}
	if trusted, _ := os.ReadFile(filepath.Join(l.trustedCertsDir(), "instance-identity-ca.crt")); !bytes.Equal(trusted, first) {
		t.Error("the trusted certificates directory does not hold the identity CA")
	}
	rep := writeAndLoad(t, l, "rep-cell-1", l.repConfig(0), repdaemon.Load)
	if rep.InstanceIdentityCAPath != l.identityCACert() || rep.InstanceIdentityPrivateKeyPath != l.identityCAKey() ||
		rep.TrustedSystemCertificatesPath != l.trustedCertsDir() || rep.InstanceIdentityCredDir != filepath.Join(l.cellDir(0), "instance-identity") {
		t.Errorf("rep config %+v", rep.Settings)
	}
	if _, err := identity.NewIssuer(rep.InstanceIdentityCAPath, rep.InstanceIdentityPrivateKeyPath, identity.DefaultValidity); err != nil {
		t.Errorf("the rep cannot load the identity CA: %v", err)
	}
}
