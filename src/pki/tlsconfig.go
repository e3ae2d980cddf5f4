package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/diego-go/diego/src/wallclock"
)

// cipherSuites are the TLS 1.2 suites we accept: ECDHE key exchange with
// AES-GCM only. TLS 1.3 suites are not configurable and are all AEAD.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
}

// ServerTLSConfig returns a TLS 1.2+ server configuration presenting
// certFile/keyFile and requiring a client certificate signed by the CA in caFile.
func ServerTLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg, pool, err := mutualTLSConfig(caFile, certFile, keyFile, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.ClientCAs = pool
	return cfg, nil
}

// ClientTLSConfig returns a TLS 1.2+ client configuration presenting
// certFile/keyFile and trusting only servers signed by the CA in caFile.
func ClientTLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg, pool, err := mutualTLSConfig(caFile, certFile, keyFile, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// mutualTLSConfig is what both ends share: TLS 1.2+ with our cipher suites,
// presenting certFile/keyFile (checked for usage); it also returns the pool of
// the CA in caFile, which the caller trusts for its peer.
func mutualTLSConfig(caFile, certFile, keyFile string, usage x509.ExtKeyUsage) (*tls.Config, *x509.CertPool, error) {
	pool, err := LoadCAPool(caFile)
	if err != nil {
		return nil, nil, err
	}
	pair, err := loadKeyPair(certFile, keyFile, usage)
	if err != nil {
		return nil, nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: slices.Clone(cipherSuites),
		Certificates: []tls.Certificate{pair},
		Time:         wallclock.Now, // the host's clock, as the peer's certificate is judged by it
	}, pool, nil
}

// LoadCAPool reads every certificate in the PEM file caFile into a new pool.
func LoadCAPool(caFile string) (*x509.CertPool, error) {
	data, err := readFile("CA file", caFile)
	if err != nil {
		return nil, err
	}
	certs, err := parseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// loadKeyPair reads a certificate and key, checks that they match, that the
// certificate is currently valid and that it may be used for usage.
func loadKeyPair(certFile, keyFile string, usage x509.ExtKeyUsage) (tls.Certificate, error) {
	certPEM, keyPEM, err := readCertAndKey("", certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	certs, err := parseCertsPEM(certPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", certFile, err)
	}
	if _, err := parseKeyPEM(keyPEM); err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", keyFile, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s and %s: %w", certFile, keyFile, err)
	}
	leaf := certs[0]
	now := wallclock.Now()
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("%s: certificate %q expired at %s", certFile, leaf.Subject.CommonName, leaf.NotAfter.Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, fmt.Errorf("%s: certificate %q is not valid before %s", certFile, leaf.Subject.CommonName, leaf.NotBefore.Format(time.RFC3339))
	}
	if !allowsUsage(leaf, usage) {
		return tls.Certificate{}, fmt.Errorf("%s: certificate %q is not valid for %s authentication", certFile, leaf.Subject.CommonName, usageName(usage))
	}
	pair.Leaf = leaf
	return pair, nil
}

// allowsUsage reports whether cert may be used for usage; a certificate
// without extended key usages is unrestricted.
func allowsUsage(cert *x509.Certificate, usage x509.ExtKeyUsage) bool {
	if len(cert.ExtKeyUsage) == 0 {
		return true
	}
	return slices.Contains(cert.ExtKeyUsage, usage) || slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageAny)
}

func usageName(usage x509.ExtKeyUsage) string {
	switch usage {
	case x509.ExtKeyUsageServerAuth:
		return "server"
	case x509.ExtKeyUsageClientAuth:
		return "client"
	}
	return fmt.Sprintf("usage %d", usage)
}
