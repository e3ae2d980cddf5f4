package daemon

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/serve/abusetest"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/api"
)

// TestStandsUpToAbuse: the rep API refuses clients without a certificate
// from its CA, and it, the local and the metrics servers cut slow clients,
// answer oversized headers 431 (and /work's oversized body 413) and serve at
// most max_connections at once, while a well-behaved client is served.
func TestStandsUpToAbuse(t *testing.T) {
	limits := abusetest.Limits
	limits.ReadTimeout = jsonconfig.Duration(10 * time.Second) // room for /work's 16 MiB body
	f := addCell(t, newBBS(t), "cell-abuse", func(s *Settings, _ *Options) {
		s.ServerLimits = limits
		s.MetricsAddress = "127.0.0.1:0"
	})
	// reptest.Ping's keep-alive connection would hold one of the local
	// server's slots.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	certs := f.h.Certs
	clientTLS, err := pki.ClientTLSConfig(certs.CACert, certs.ClientCert, certs.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(f.d.RepURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("rep api", func(t *testing.T) {
		abusetest.Run(t, abusetest.Target{Addr: u.Host, TLS: clientTLS,
			Good: abusetest.Request{Method: "GET", Path: "/state"},
			Body: abusetest.Request{Method: "POST", Path: "/work"},
		}, abusetest.Options{ClientCerts: true, BodyBytes: api.MaxBodyBytes + 1<<20})
	})
	t.Run("local", func(t *testing.T) {
		abusetest.Run(t, abusetest.Target{Addr: f.d.LocalAddr(), Good: abusetest.Request{Method: "GET", Path: "/ping"}}, abusetest.Options{})
	})
	t.Run("metrics", func(t *testing.T) {
		abusetest.Run(t, abusetest.Target{Addr: f.d.MetricsAddr(), Good: abusetest.Request{Method: "GET", Path: "/metrics"}}, abusetest.Options{})
	})
}
