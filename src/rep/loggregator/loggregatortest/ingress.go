// Package loggregatortest is a Loggregator agent's ingress service and mutual
// TLS certificates for tests.
package loggregatortest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v2 "code.cloudfoundry.org/go-loggregator/v8/rpc/loggregator_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
)

// Certs are an agent's server and a rep's client mutual TLS configurations
// from a new CA, and the PEM files: the CA, the client's (for the rep's
// settings) and the server's.
type Certs struct {
	Server, Client                        *tls.Config
	CAFile, ClientCertFile, ClientKeyFile string
	ServerCertFile, ServerKeyFile         string
}

// NewCerts makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, writing the files under t.TempDir().
func NewCerts(t testing.TB) Certs {
	t.Helper()
	c, err := WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// WriteCerts is NewCerts writing into dir (ca.crt, metron.crt/.key for the
// server, rep.crt/.key for the client).
func WriteCerts(dir string) (Certs, error) {
	ca, err := pki.NewCA("loggregator test CA")
	if err != nil {
		return Certs{}, err
	}
	files := map[string][]byte{"ca.crt": ca.CertPEM()}
	issue := func(o pki.IssueOptions) (tls.Certificate, error) {
		c, err := ca.Issue(o)
		if err != nil {
			return tls.Certificate{}, err
		}
		files[o.CommonName+".crt"], files[o.CommonName+".key"] = c.CertPEM, c.KeyPEM
		return c.TLSCertificate()
	}
	server, err := issue(pki.IssueOptions{CommonName: "metron", Hosts: []string{"127.0.0.1"}, Server: true})
	if err != nil {
		return Certs{}, err
	}
	client, err := issue(pki.IssueOptions{CommonName: "rep", Client: true})
	if err != nil {
		return Certs{}, err
	}
	if err := pki.WriteFiles(dir, files); err != nil {
		return Certs{}, err
	}
	return Certs{
		CAFile: filepath.Join(dir, "ca.crt"), ClientCertFile: filepath.Join(dir, "rep.crt"), ClientKeyFile: filepath.Join(dir, "rep.key"),
		ServerCertFile: filepath.Join(dir, "metron.crt"), ServerKeyFile: filepath.Join(dir, "metron.key"),
		Server: ServerTLS(server, ca.Pool()),
		Client: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{client}, RootCAs: ca.Pool()},
	}, nil
}

// ServerTLS is an agent's mutual TLS: cert, and clients verified against clientCAs.
func ServerTLS(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
}

// Ingress is a Loggregator agent's ingress service that records envelopes.
type Ingress struct {
	Addr    string
	GRPC    *grpc.Server
	mu      sync.Mutex
	got     []*v2.Envelope
	stalled chan struct{}
	once    sync.Once
	Stall   atomic.Bool
}

// Start serves the ingress service on addr ("127.0.0.1:0", or a stopped
// one's Addr to restart it) until the test ends. Setting Stall makes new
// BatchSender streams stop reading.
func Start(t testing.TB, serverTLS *tls.Config, addr string) *Ingress {
	t.Helper()
	var s *Ingress
	var err error
	testutil.Eventually(t, 10*time.Second, "listening on "+addr, func() (bool, string) {
		s, err = Serve(serverTLS, addr)
		return err == nil, fmt.Sprint(err)
	})
	t.Cleanup(s.Stop)
	return s
}

// Serve is Start outside a test: it serves until Stop.
func Serve(serverTLS *tls.Config, addr string) (*Ingress, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loggregator ingress: %w", err)
	}
	s := &Ingress{Addr: l.Addr().String(), stalled: make(chan struct{}), GRPC: grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)))}
	v2.RegisterIngressServer(s.GRPC, s)
	go func() { _ = s.GRPC.Serve(l) }()
	return s, nil
}

// Stop stops serving.
func (s *Ingress) Stop() {
	s.once.Do(func() {
		close(s.stalled)
		s.GRPC.Stop()
	})
}

func (s *Ingress) record(es ...*v2.Envelope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, es...)
}

// Envelopes is what arrived so far.
func (s *Ingress) Envelopes() []*v2.Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*v2.Envelope(nil), s.got...)
}

// WaitFor waits for n envelopes and returns all that arrived.
func (s *Ingress) WaitFor(t testing.TB, n int) []*v2.Envelope {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, "envelopes arrive", func() (bool, string) {
		got := s.Envelopes()
		return len(got) >= n, ""
	})
	return s.Envelopes()
}

// BatchSender records every batch.
func (s *Ingress) BatchSender(stream v2.Ingress_BatchSenderServer) error {
	if s.Stall.Load() { // stop reading until the test ends
		<-s.stalled
		return nil
	}
	for {
		b, err := stream.Recv()
		if err != nil {
			return err
		}
		s.record(b.Batch...)
	}
}

// Send records the batch.
func (s *Ingress) Send(_ context.Context, b *v2.EnvelopeBatch) (*v2.SendResponse, error) {
	s.record(b.Batch...)
	return &v2.SendResponse{}, nil
}

// Sender records every envelope.
func (s *Ingress) Sender(stream v2.Ingress_SenderServer) error {
	for {
		e, err := stream.Recv()
		if err != nil {
			return err
		}
		s.record(e)
	}
}
