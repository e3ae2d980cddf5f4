package daemon

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/serve/abusetest"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/sshd/sshtest"
	"github.com/diego-go/diego/src/sshproxy/sshproxytest"
)

// TestStandsUpToAbuse: the SSH port closes connections that never finish
// the SSH handshake (silent, or sending their version a byte at a time)
// after handshake_timeout while a well-behaved client logs in; the health
// check server cuts slow clients, answers oversized headers 431 and serves
// at most max_connections at once.
func TestStandsUpToAbuse(t *testing.T) {
	w := sshproxytest.Start(t, nil)
	w.Desire(t, "pg-abuse", 1, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	proxyKey := sshtest.NewKey(t)
	cfg := DefaultConfig()
	cfg.Address, cfg.HealthCheckAddress = "127.0.0.1:0", "127.0.0.1:0"
	cfg.HostKey = proxyKey.PEM
	cfg.BBSAddress = w.BBS.URL
	cfg.BBSCACert, cfg.BBSClientCert, cfg.BBSClientKey = w.BBS.Certs.CACert, w.BBS.Certs.ClientCert, w.BBS.Certs.ClientKey
	cfg.EnableDiegoAuth, cfg.DiegoCredentials = true, "secret"
	cfg.HandshakeTimeout = Duration(time.Second)
	cfg.ServerLimits = abusetest.Limits
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, cfg, Options{Logger: testutil.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Wait(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Wait: %v", err)
		}
	})

	t.Run("ssh handshake timeout", func(t *testing.T) {
		var closed []chan struct{}
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := range 6 {
			c, err := net.Dial("tcp", d.Addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			gone := make(chan struct{})
			closed = append(closed, gone)
			go func() {
				defer close(gone)
				_, _ = io.Copy(io.Discard, c)
			}()
			if i%2 == 1 { // a version line a byte at a time
				go func() {
					for _, b := range []byte("SSH-2.0-slow" + strings.Repeat("a", 200)) {
						select {
						case <-gone:
							return
						case <-time.After(50 * time.Millisecond):
						}
						if _, err := c.Write([]byte{b}); err != nil {
							return
						}
					}
				}()
			}
		}
		c := sshtest.NewClient(t, d.Addr, proxyKey.Signer.PublicKey(), "diego:pg-abuse/0")
		c.Password = "secret"
		if r := c.Run(t, "", "ssh", c.Target(), "echo served"); r.Stdout != "served\n" {
			t.Fatalf("a well-behaved client among slow ones: %+v", r)
		}
		for i, gone := range closed {
			select {
			case <-gone:
			case <-time.After(abusetest.Deadline):
				t.Fatalf("connection %d, which never finished the SSH handshake, still open after %s", i, abusetest.Deadline)
			}
		}
	})
	t.Run("health", func(t *testing.T) {
		abusetest.Run(t, abusetest.Target{Addr: d.HealthAddr, Good: abusetest.Request{Method: "GET", Path: "/"}}, abusetest.Options{})
	})
}

func TestValidateLimits(t *testing.T) {
	c := DefaultConfig()
	c.HandshakeTimeout = Duration(-time.Second)
	c.ServerLimits.MaxHeaderBytes = 10
	err := c.Validate()
	for _, want := range []string{"handshake_timeout -1s must be 0 (never) or positive", "server_limits.max_header_bytes 10"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want %q", err, want)
		}
	}
}
