// Package natstest starts a real NATS server on a free port of 127.0.0.1
// for a test, stopped when the test ends.
package natstest

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/diego-go/diego/src/internal/natsembed"
)

// Start runs the server; with serverTLS it requires TLS and verifies
// client certificates.
func Start(tb testing.TB, serverTLS *tls.Config) *server.Server {
	tb.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}
	if serverTLS != nil {
		opts.TLSConfig, opts.TLSVerify, opts.TLS = serverTLS, true, true
	}
	s, err := natsembed.Start(opts, 10*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Shutdown)
	return s
}
