// Package abusetest checks that a running HTTP server stands up to abusive
// clients (no or foreign client certificates, slow clients, oversized
// headers and bodies, more connections than it serves) while it keeps
// serving a well-behaved client.
package abusetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/pki"
)

// Deadline is how long the server gets to do what a check expects of it
// (answer, disconnect a slow client); checks assert nothing shorter.
const Deadline = 30 * time.Second

// Limits are short limits for a server under these checks: slow clients
// are cut after a second or two, idle keep-alive connections last long
// enough to be held, eight connections are served at once.
var Limits = serve.Limits{
	ReadHeaderTimeout: jsonconfig.Duration(time.Second),
	ReadTimeout:       jsonconfig.Duration(2 * time.Second),
	IdleTimeout:       jsonconfig.Duration(20 * time.Second),
	MaxHeaderBytes:    4096,
	MaxConnections:    8,
}

// Options say which checks apply to a server running with Limits.
type Options struct {
	// ClientCerts: the server requires a client certificate from its CA.
	ClientCerts bool
	// BodyBytes is a body size the server refuses (0: it reads no bodies).
	BodyBytes int
}

// Run runs every check that applies, each as a subtest, against a server
// running with Limits.
func Run(t *testing.T, tg Target, o Options) {
	t.Helper()
	if o.ClientCerts {
		t.Run("client certificates", func(t *testing.T) { CheckClientCertificates(t, tg) })
	}
	t.Run("slow clients", func(t *testing.T) { CheckSlowClients(t, tg, 2) })
	t.Run("oversized", func(t *testing.T) { CheckOversized(t, tg, Limits.MaxHeaderBytes, o.BodyBytes) })
	t.Run("connection limit", func(t *testing.T) { CheckConnectionLimit(t, tg, Limits.MaxConnections) })
}

// T is the part of testing.TB the checks use.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Request is one request and the status it must be answered with.
type Request struct {
	Method, Path string
	Body         []byte
	Header       http.Header
	// Status is the expected status (0: 200).
	Status int
	// Check, if set, replaces the status check (e.g. for an API that
	// answers errors in the body).
	Check func(status int, body []byte) error
}

// Target is a running server and how to talk to it.
type Target struct {
	Addr string
	// TLS is a client configuration the server accepts (nil: plain HTTP).
	TLS *tls.Config
	// Good is a well-behaved request.
	Good Request
	// Deadline, if set, replaces the package's Deadline for how long the
	// server gets to disconnect slow clients.
	Deadline time.Duration
	// Body is a request whose body the server reads (Method and Path are
	// used; Body is replaced by the checks). Empty Path: the server reads
	// no body and Good is used.
	Body Request
}

func (tg Target) scheme() string {
	if tg.TLS != nil {
		return "https"
	}
	return "http"
}

func (tg Target) deadline() time.Duration {
	if tg.Deadline > 0 {
		return tg.Deadline
	}
	return Deadline
}

func (tg Target) bodyRequest() Request {
	if tg.Body.Path == "" {
		return tg.Good
	}
	return tg.Body
}

// Do sends r on a fresh connection (closed after the answer) with tlsCfg
// and checks its answer.
func (tg Target) Do(ctx context.Context, tlsCfg *tls.Config, r Request) error {
	ctx, cancel := context.WithTimeout(ctx, Deadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, tg.scheme()+"://"+tg.Addr+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		return err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	tr := &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", r.Method, r.Path, err)
	}
	if r.Check != nil {
		if err := r.Check(resp.StatusCode, body); err != nil {
			return fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
		}
		return nil
	}
	want := r.Status
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d (body %.200q)", r.Method, r.Path, resp.StatusCode, want, body)
	}
	return nil
}

// Served fails t unless the well-behaved request is answered as expected.
func (tg Target) Served(t T, when string) {
	t.Helper()
	if err := tg.Do(context.Background(), tg.TLS, tg.Good); err != nil {
		t.Fatalf("well-behaved client %s: %v", when, err)
	}
}

// ForeignClient returns tg.TLS with its client certificate replaced by one
// from a freshly made CA the server does not trust.
func ForeignClient(t T, tg Target) *tls.Config {
	t.Helper()
	ca, err := pki.NewCA("foreign CA")
	if err != nil {
		t.Fatalf("%v", err)
	}
	leaf, err := ca.Issue(pki.IssueOptions{CommonName: "foreign client", Client: true})
	if err != nil {
		t.Fatalf("%v", err)
	}
	cert, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatalf("%v", err)
	}
	cfg := tg.TLS.Clone()
	cfg.Certificates, cfg.GetClientCertificate = []tls.Certificate{cert}, nil
	return cfg
}

// CheckClientCertificates checks that a client with no certificate and one
// with a foreign CA's certificate are refused, and the server still serves.
func CheckClientCertificates(t T, tg Target) {
	t.Helper()
	none := tg.TLS.Clone()
	none.Certificates, none.GetClientCertificate = nil, nil
	for name, cfg := range map[string]*tls.Config{"no client certificate": none, "a foreign CA's certificate": ForeignClient(t, tg)} {
		if err := tg.Do(context.Background(), cfg, tg.Good); err == nil {
			t.Errorf("a client with %s was served", name)
		}
	}
	tg.Served(t, "after refusing foreign clients")
}

// slowConn is one abusive connection, watched until the server closes it.
type slowConn struct {
	kind   string
	conn   net.Conn
	closed atomic.Bool
	done   chan struct{}
}

func (tg Target) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", tg.Addr)
	if err != nil || tg.TLS == nil {
		return c, err
	}
	cfg := tg.TLS
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		cfg = cfg.Clone()
		cfg.ServerName, _, _ = net.SplitHostPort(tg.Addr)
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", tg.Addr, err)
	}
	return tc, nil
}

// watch reads from s.conn until the server closes it.
func (s *slowConn) watch() {
	defer close(s.done)
	_, _ = io.Copy(io.Discard, s.conn)
	s.closed.Store(true)
}

// CheckSlowClients opens n connections of each slow kind (TCP that sends
// nothing, so never finishes TLS; a header sent a byte at a time; a body
// that never finishes), checks that the well-behaved client is served
// meanwhile and that the server disconnects every slow client before
// Deadline. The server's timeouts must be well under Deadline.
func CheckSlowClients(t T, tg Target, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tg.deadline())
	defer cancel()
	var slow []*slowConn
	var wg sync.WaitGroup
	defer func() {
		for _, s := range slow {
			s.conn.Close()
		}
		wg.Wait()
	}()
	add := func(kind string, c net.Conn) *slowConn {
		s := &slowConn{kind: kind, conn: c, done: make(chan struct{})}
		slow = append(slow, s)
		go s.watch()
		return s
	}
	br := tg.bodyRequest()
	for range n {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", tg.Addr)
		if err != nil {
			t.Fatalf("connecting: %v", err)
		}
		add("silent (never finishes the TLS handshake or sends a request)", c)

		c, err = tg.dial(ctx)
		if err != nil {
			t.Fatalf("connecting: %v", err)
		}
		s := add("header a byte at a time", c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := "GET " + tg.Good.Path + " HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1<<20)
			for i := 0; i < len(msg) && !s.closed.Load(); i++ {
				if _, err := c.Write([]byte{msg[i]}); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()

		c, err = tg.dial(ctx)
		if err != nil {
			t.Fatalf("connecting: %v", err)
		}
		head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", br.Method, br.Path)
		if _, err := c.Write([]byte(head + "0")); err != nil {
			t.Fatalf("writing a request head: %v", err)
		}
		add("body never finished", c)
	}
	tg.Served(t, "while slow clients are connected")
	for _, s := range slow {
		select {
		case <-s.done:
		case <-ctx.Done():
			t.Fatalf("the server kept a slow client (%s) connected for %s", s.kind, tg.deadline())
		}
	}
	tg.Served(t, "after disconnecting slow clients")
}

// CheckOversized checks that a header larger than maxHeaderBytes is
// answered 431 and a body of bodyBytes is refused as tg.Body says (413
// unless its Status or Check says otherwise), and the server still serves.
func CheckOversized(t T, tg Target, maxHeaderBytes, bodyBytes int) {
	t.Helper()
	big := tg.Good
	big.Header = http.Header{"X-Big": {strings.Repeat("h", 2*maxHeaderBytes+8192)}}
	big.Status, big.Check = http.StatusRequestHeaderFieldsTooLarge, nil
	if err := tg.Do(context.Background(), tg.TLS, big); err != nil {
		t.Errorf("oversized header: %v", err)
	}
	if bodyBytes > 0 {
		br := tg.bodyRequest()
		br.Body = bytes.Repeat([]byte{' '}, bodyBytes) // whitespace: a JSON decoder reads on
		if br.Status == 0 && br.Check == nil {
			br.Status = http.StatusRequestEntityTooLarge
		}
		if err := tg.Do(context.Background(), tg.TLS, br); err != nil {
			t.Errorf("oversized body: %v", err)
		}
	}
	tg.Served(t, "after oversized requests")
}

// hold opens a keep-alive connection that has been served one request.
func (tg Target) hold(ctx context.Context) (net.Conn, error) {
	c, err := tg.dial(ctx)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", tg.Good.Method, tg.Good.Path, len(tg.Good.Body))
	if _, err := c.Write(append([]byte(head), tg.Good.Body...)); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("reading the answer on a held connection: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		c.Close()
		return nil, errors.New("the server closed a keep-alive connection after one request")
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// CheckConnectionLimit holds maxConnections idle keep-alive connections
// (the server's idle timeout must be well over a second), checks that a
// further client is not served while they are held, then closes one and
// checks that the client is served.
func CheckConnectionLimit(t T, tg Target, maxConnections int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	defer cancel()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range maxConnections {
		c, err := tg.hold(ctx)
		if err != nil {
			t.Fatalf("holding connection %d of max_connections %d: %v", i+1, maxConnections, err)
		}
		held = append(held, c)
	}
	served := make(chan error, 1)
	go func() { served <- tg.Do(context.Background(), tg.TLS, tg.Good) }()
	select {
	case err := <-served:
		t.Fatalf("a client beyond max_connections %d was answered while the others were held (error: %v)", maxConnections, err)
	case <-time.After(time.Second):
	}
	held[0].Close()
	held = held[1:]
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("the waiting client, once a connection closed: %v", err)
		}
	case <-time.After(Deadline):
		t.Fatalf("the waiting client was not served within %s of a connection closing", Deadline)
	}
}
