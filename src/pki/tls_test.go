package pki

import (
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// handshake runs one TLS connection between serverCfg (on 127.0.0.1) and
// clientCfg, exchanging a byte each way so that TLS 1.3 client certificate
// failures surface on both sides. It returns the server's and client's errors
// and, on success, the common name of the client certificate the server saw.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (serverErr, clientErr error, peerCN string) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	type result struct {
		err error
		cn  string
	}
	done := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		tc := conn.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			done <- result{err: err}
			return
		}
		buf := make([]byte, 1)
		if _, err := io.ReadFull(tc, buf); err != nil {
			done <- result{err: err}
			return
		}
		if _, err := tc.Write(buf); err != nil {
			done <- result{err: err}
			return
		}
		var cn string
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			cn = certs[0].Subject.CommonName
		}
		done <- result{cn: cn}
	}()

	clientErr = func() error {
		d := &net.Dialer{Timeout: 10 * time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), clientCfg)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write([]byte{'x'}); err != nil {
			return err
		}
		buf := make([]byte, 1)
		_, err = io.ReadFull(conn, buf)
		return err
	}()
	select {
	case r := <-done:
		return r.err, clientErr, r.cn
	case <-time.After(15 * time.Second):
		t.Fatal("server side of the handshake did not finish")
	}
	return nil, nil, ""
}

// localServer generates a local bundle in a fresh directory and returns it
// with the server's TLS configuration.
func localServer(t *testing.T) (*Bundle, *tls.Config) {
	t.Helper()
	b, err := GenerateLocal(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ServerTLSConfig(b.CACert, b.ServerCert, b.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	return b, cfg
}

func TestMutualTLSHandshake(t *testing.T) {
	b, serverCfg := localServer(t)
	goodClient, err := ClientTLSConfig(b.CACert, b.ClientCert, b.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	adminClient, err := ClientTLSConfig(b.CACert, b.AdminCert, b.AdminKey)
	if err != nil {
		t.Fatal(err)
	}

	// A client holding a certificate from another CA (but trusting our server).
	otherCA := mustCA(t, "other-ca")
	otherLeaf := issue(t, otherCA, IssueOptions{CommonName: "intruder", Client: true})
	otherPair, err := otherLeaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	// Go clients only offer certificates the server's request says it
	// accepts, so force the foreign one onto the wire.
	foreignCert := goodClient.Clone()
	foreignCert.Certificates = nil
	foreignCert.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return &otherPair, nil
	}

	noCert := goodClient.Clone()
	noCert.Certificates = nil

	// A certificate from our CA that is only good for server authentication.
	serverOnly := issueWith(t, b, IssueOptions{CommonName: "server-only", Server: true})
	serverPair, err := serverOnly.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	wrongUsage := goodClient.Clone()
	wrongUsage.Certificates = []tls.Certificate{serverPair}

	oldTLS := goodClient.Clone()
	oldTLS.MinVersion, oldTLS.MaxVersion = tls.VersionTLS10, tls.VersionTLS11

	// A properly authenticated client that does not trust the server's CA.
	distrustful := goodClient.Clone()
	distrustful.RootCAs = otherCA.Pool()

	tls12 := goodClient.Clone()
	tls12.MaxVersion = tls.VersionTLS12

	tests := []struct {
		name      string
		client    *tls.Config
		wantOK    bool
		wantCN    string
		serverErr string // substring of the server-side error, if refused
	}{
		{name: "client cert from the CA", client: goodClient, wantOK: true, wantCN: LocalClientCommonName},
		{name: "admin cert from the CA", client: adminClient, wantOK: true, wantCN: LocalAdminCommonName},
		{name: "TLS 1.2 client", client: tls12, wantOK: true, wantCN: LocalClientCommonName},
		{name: "no client cert", client: noCert, serverErr: "certificate"},
		{name: "client cert from another CA", client: foreignCert, serverErr: "unknown authority"},
		{name: "server-only cert as client cert", client: wrongUsage, serverErr: "certificate"},
		{name: "TLS 1.1 client", client: oldTLS, serverErr: "version"},
		{name: "client distrusts server CA", client: distrustful},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverErr, clientErr, cn := handshake(t, serverCfg, tt.client)
			if tt.wantOK {
				if serverErr != nil || clientErr != nil {
					t.Fatalf("handshake failed: server: %v; client: %v", serverErr, clientErr)
				}
				if cn != tt.wantCN {
					t.Fatalf("server saw client CN %q, want %q", cn, tt.wantCN)
				}
				return
			}
			if serverErr == nil || clientErr == nil {
				t.Fatalf("connection was not refused: server: %v; client: %v", serverErr, clientErr)
			}
			if !strings.Contains(serverErr.Error(), tt.serverErr) {
				t.Fatalf("server error %q does not mention %q", serverErr, tt.serverErr)
			}
		})
	}
}

func TestServerTLSConfigSettings(t *testing.T) {
	b, cfg := localServer(t)
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", cfg.MinVersion)
	}
	if cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Errorf("ClientAuth = %v", cfg.ClientAuth)
	}
	if cfg.ClientCAs == nil || len(cfg.Certificates) != 1 {
		t.Errorf("ClientCAs or Certificates not set")
	}
	for _, id := range cfg.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !strings.Contains(name, "_GCM_") {
			t.Errorf("cipher suite %s is not ECDHE with AES-GCM", name)
		}
	}
	ccfg, err := ClientTLSConfig(b.CACert, b.ClientCert, b.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	if ccfg.MinVersion != tls.VersionTLS12 || ccfg.RootCAs == nil || len(ccfg.Certificates) != 1 {
		t.Errorf("client config = %+v", ccfg)
	}
}

func TestTLSConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	b, err := GenerateLocal(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "missing.crt")
	garbage := write("garbage.pem", "not a PEM file\n")
	keyOnly := b.ServerKey

	ca, err := LoadCA(b.CACert, b.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	expired := issue(t, ca, IssueOptions{CommonName: "old", Server: true, Client: true, Validity: time.Nanosecond})
	time.Sleep(time.Millisecond)
	serverOnly := issue(t, ca, IssueOptions{CommonName: "server-only", Server: true})
	serverOnlyCrt := write("server-only.crt", string(serverOnly.CertPEM))
	serverOnlyKey := write("server-only.key", string(serverOnly.KeyPEM))
	expiredCrt := write("expired.crt", string(expired.CertPEM))
	expiredKey := write("expired.key", string(expired.KeyPEM))

	tests := []struct {
		name                  string
		server                bool
		caFile, cert, keyFile string
		want                  string
		wantNotExist          bool
	}{
		{name: "missing CA file", server: true, caFile: missing, cert: b.ServerCert, keyFile: b.ServerKey,
			want: "reading CA file " + missing + ": no such file or directory", wantNotExist: true},
		{name: "CA file without PEM", server: true, caFile: garbage, cert: b.ServerCert, keyFile: b.ServerKey,
			want: garbage + ": no PEM certificate found"},
		{name: "CA file holding a key", server: true, caFile: keyOnly, cert: b.ServerCert, keyFile: b.ServerKey,
			want: keyOnly + ": no PEM certificate found"},
		{name: "missing cert file", server: true, caFile: b.CACert, cert: missing, keyFile: b.ServerKey,
			want: "reading certificate file " + missing + ": no such file or directory", wantNotExist: true},
		{name: "cert file without PEM", server: true, caFile: b.CACert, cert: garbage, keyFile: b.ServerKey,
			want: garbage + ": no PEM certificate found"},
		{name: "missing key file", server: false, caFile: b.CACert, cert: b.ClientCert, keyFile: missing,
			want: "reading key file " + missing + ": no such file or directory", wantNotExist: true},
		{name: "key file without key", server: true, caFile: b.CACert, cert: b.ServerCert, keyFile: b.ServerCert,
			want: b.ServerCert + ": no PEM private key found"},
		{name: "key does not match cert", server: true, caFile: b.CACert, cert: b.ServerCert, keyFile: b.ClientKey,
			want: b.ServerCert + " and " + b.ClientKey + ": "},
		{name: "client cert used by a server", server: true, caFile: b.CACert, cert: b.ClientCert, keyFile: b.ClientKey,
			want: b.ClientCert + `: certificate "diego-client" is not valid for server authentication`},
		{name: "server cert used by a client", server: false, caFile: b.CACert, cert: serverOnlyCrt, keyFile: serverOnlyKey,
			want: serverOnlyCrt + `: certificate "server-only" is not valid for client authentication`},
		{name: "expired cert", server: false, caFile: b.CACert, cert: expiredCrt, keyFile: expiredKey,
			want: expiredCrt + `: certificate "old" expired at`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			load := ClientTLSConfig
			if tt.server {
				load = ServerTLSConfig
			}
			cfg, err := load(tt.caFile, tt.cert, tt.keyFile)
			if err == nil {
				t.Fatalf("got config %v, want error", cfg)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.wantNotExist {
				t.Fatalf("errors.Is(err, fs.ErrNotExist) = %v", got)
			}
		})
	}
}
