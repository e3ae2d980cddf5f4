// Package vaulttest is a small in-process stand-in for a Vault server, for
// tests only: no Vault or OpenBao server can be installed where this
// project's tests run. It follows Vault's documented HTTP API, and the
// behaviour a real server (OpenBao 2.0) showed, for what the key ring
// needs, so that tests drive it through the real github.com/hashicorp/vault/api
// client and fail where they would fail on the real server:
//
//   - KV version 2 (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2)
//     with its version history (kv.go): GET/POST/PUT/DELETE
//     /v1/<mount>/data/<path> (read the latest or ?version=N; write with
//     {"data", "options": {"cas"}}), POST /v1/<mount>/delete|undelete|destroy/<path>
//     {"versions": [...]}, GET/POST/DELETE/LIST /v1/<mount>/metadata/<path>;
//     max_versions (mount default Options.MaxVersions, 10) older versions are
//     dropped; a deleted or destroyed version reads as 404 with its metadata;
//   - ACL policies (policy.go): every token carries policies of path
//     capabilities (create, read, update, delete, list, deny), checked on the
//     request's path (<mount>/data/<path>, <mount>/destroy/<path>, ...); a
//     write to data or metadata is "create" when the secret's metadata does
//     not exist and "update" when it does, as Vault's existence check decides;
//     a denial is HTTP 403 {"errors": ["1 error occurred:\n\t* permission denied\n\n"]},
//     the body a real server sends; POST /v1/sys/capabilities-self answers
//     which capabilities the token has (every token may ask, as Vault's
//     default policy allows);
//   - the token header X-Vault-Token (or Authorization: Bearer): a missing or
//     unknown token is HTTP 403 {"errors": ["permission denied"]};
//   - AppRole login (https://developer.hashicorp.com/vault/api-docs/auth/approle):
//     POST /v1/auth/<mount>/login {"role_id", "secret_id"} answers
//     {"auth": {"client_token": ...}} for a token with the role's policies;
//     wrong credentials are HTTP 400;
//   - error bodies are {"errors": [...]}; a sealed server answers 503.
//
// RootToken, NewToken and AddAppRole give the root policy (everything);
// SetPolicy, NewTokenWithPolicies and AddAppRoleWithPolicies give exactly
// the capabilities a test names. It also goes down and comes back on the
// same address (Down, Up), can be sealed, serves TLS with its own CA on
// request, and counts requests. New runs one outside `go test`: the standin
// command (vaulttest/standin) serves it to a local deployment
// (tools/deploylocal TestRotateErrandLocal). It is a test stand-in, never a
// Vault replacement: secrets live in memory.
package vaulttest

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/src/pki"
)

// Options configure a server.
type Options struct {
	// TLS serves https with a certificate for 127.0.0.1 from a fresh CA,
	// whose PEM file is Server.CACertFile.
	TLS bool
	// Mounts are the KV v2 mounts (default: "secret").
	Mounts []string
	// AppRoleMount enables AppRole login at auth/<mount> (default "approle").
	AppRoleMount string
	// Listen is the address to listen on (default 127.0.0.1:0, a free port).
	Listen string
	// CertHosts are more names or IPs for the TLS certificate (besides
	// 127.0.0.1), e.g. the address other hosts reach it at.
	CertHosts []string
	// MaxVersions is the mounts' max_versions (default 10, Vault's): older
	// versions of a secret are dropped from its history.
	MaxVersions int
}

type appRole struct {
	secretID string
	policies []string
}

// Server is the stand-in Vault.
type Server struct {
	// URL is the address to give the client (http:// or https://).
	URL string
	// RootToken is accepted for every path.
	RootToken string
	// CACertFile is the CA that signed the TLS certificate ("" without TLS).
	CACertFile string

	addr   string
	tlsCfg *tls.Config
	opts   Options

	mu       sync.Mutex
	srv      *http.Server
	ln       net.Listener
	tokens   map[string][]string // token -> policies
	roles    map[string]appRole  // by role_id
	policies map[string]Policy
	denials  []string
	secrets  map[string]*secret // by "<mount>/<path>"
	mounts   map[string]bool
	sealed   bool
	requests map[string]int // "METHOD kind" -> count, kind is data, metadata or login
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := New(o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Down)
	return s
}

// New runs a server outside a test (the standin command): dir holds its
// TLS certificates with Options.TLS (a CA in dir is reused). Stop it with
// Down.
func New(o Options, dir string) (*Server, error) {
	if len(o.Mounts) == 0 {
		o.Mounts = []string{"secret"}
	}
	if o.AppRoleMount == "" {
		o.AppRoleMount = "approle"
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.MaxVersions <= 0 {
		o.MaxVersions = 10
	}
	s := &Server{opts: o, tokens: map[string][]string{}, roles: map[string]appRole{}, policies: map[string]Policy{},
		secrets: map[string]*secret{}, mounts: map[string]bool{}, requests: map[string]int{}}
	for _, m := range o.Mounts {
		s.mounts[strings.Trim(m, "/")] = true
	}
	s.RootToken = s.NewToken()
	scheme := "http"
	if o.TLS {
		hosts := append([]string{"127.0.0.1"}, o.CertHosts...)
		certs, err := pki.GenerateLocal(filepath.Join(dir, "vault-certs"), hosts)
		if err != nil {
			return nil, fmt.Errorf("vaulttest: certificates: %w", err)
		}
		cert, err := tls.LoadX509KeyPair(certs.ServerCert, certs.ServerKey)
		if err != nil {
			return nil, fmt.Errorf("vaulttest: %w", err)
		}
		s.tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.CACertFile = certs.CACert
		scheme = "https"
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("vaulttest: %w", err)
	}
	s.addr = ln.Addr().String()
	s.URL = scheme + "://" + s.addr
	s.serve(ln)
	return s, nil
}

// Addr is the address the server listens on (host:port).
func (s *Server) Addr() string { return s.addr }

func (s *Server) serve(ln net.Listener) {
	if s.tlsCfg != nil {
		ln = tls.NewListener(ln, s.tlsCfg)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Down stops serving: clients get "connection refused". Idempotent.
func (s *Server) Down() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Up serves again on the same address, with the same secrets and tokens.
func (s *Server) Up(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("vaulttest: listening on %s again: %v", s.addr, err)
	}
	s.serve(ln)
}

// Seal makes every request answer 503 "Vault is sealed" until Unseal.
func (s *Server) Seal()   { s.mu.Lock(); s.sealed = true; s.mu.Unlock() }
func (s *Server) Unseal() { s.mu.Lock(); s.sealed = false; s.mu.Unlock() }

// NewToken creates and returns a token with the root policy.
func (s *Server) NewToken() string { return s.NewTokenWithPolicies(RootPolicy) }

// NewTokenWithPolicies creates a token carrying the named policies (set
// them with SetPolicy; an unknown name grants nothing).
func (s *Server) NewTokenWithPolicies(policies ...string) string {
	t := "hvs." + randomHex(12)
	s.mu.Lock()
	s.tokens[t] = append([]string(nil), policies...)
	s.mu.Unlock()
	return t
}

// SetPolicy creates or replaces the named policy; tokens carrying it see
// the change on their next request, as with Vault.
func (s *Server) SetPolicy(name string, p Policy) {
	c := Policy{}
	for k, v := range p {
		c[k] = append([]string(nil), v...)
	}
	s.mu.Lock()
	s.policies[name] = c
	s.mu.Unlock()
}

// RevokeToken makes t invalid.
func (s *Server) RevokeToken(t string) { s.mu.Lock(); delete(s.tokens, t); s.mu.Unlock() }

// AddAppRole creates an AppRole whose logins get the root policy, and
// returns its role_id and secret_id.
func (s *Server) AddAppRole() (roleID, secretID string) { return s.AddAppRoleWithPolicies(RootPolicy) }

// AddAppRoleWithPolicies creates an AppRole whose logins get the named
// policies, and returns its role_id and secret_id.
func (s *Server) AddAppRoleWithPolicies(policies ...string) (roleID, secretID string) {
	roleID, secretID = randomHex(8), randomHex(16)
	s.mu.Lock()
	s.roles[roleID] = appRole{secretID: secretID, policies: append([]string(nil), policies...)}
	s.mu.Unlock()
	return roleID, secretID
}

// Denials lists the requests refused by policy so far, each as
// "<capability> <path>" (e.g. "update secret/destroy/diego/bbs/encryption").
func (s *Server) Denials() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.denials...)
}

// Requests counts requests by "METHOD kind" (kind: data, metadata, login),
// e.g. Requests()["PUT data"] is the number of writes.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeErr(w http.ResponseWriter, code int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	writeJSON(w, code, map[string]any{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
