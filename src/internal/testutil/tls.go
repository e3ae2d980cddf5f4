package testutil

import (
	"crypto/tls"
	"path/filepath"
	"testing"

	"github.com/diego-go/diego/src/pki"
)

// MTLS is a fresh local CA's certificates and the mutual-TLS configurations
// built from them.
type MTLS struct {
	Bundle         *pki.Bundle
	Server, Client *tls.Config
}

// MutualTLS generates a CA with server (valid for localhost and 127.0.0.1)
// and client certificates under tb's temporary directory.
func MutualTLS(tb testing.TB) MTLS {
	tb.Helper()
	b, err := pki.GenerateLocal(filepath.Join(tb.TempDir(), "certs"), []string{"127.0.0.1"})
	if err != nil {
		tb.Fatal(err)
	}
	server, err := pki.ServerTLSConfig(b.CACert, b.ServerCert, b.ServerKey)
	if err != nil {
		tb.Fatal(err)
	}
	client, err := pki.ClientTLSConfig(b.CACert, b.ClientCert, b.ClientKey)
	if err != nil {
		tb.Fatal(err)
	}
	return MTLS{Bundle: b, Server: server, Client: client}
}
