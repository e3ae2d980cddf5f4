// Package vaulttest is a small in-process stand-in for a Vault server, for
// tests only: no Vault or OpenBao server can be installed where this
// project's tests run. It follows Vault's documented HTTP API for what the
// key ring needs, so that tests drive it through the real
// github.com/hashicorp/vault/api client:
//
//   - KV version 2 (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2):
//     GET/POST/PUT /v1/<mount>/data/<path> (read latest or ?version=N; create or
//     update with {"data": {...}, "options": {"cas": N}}: a cas that is not the
//     current version, or cas 0 on an existing secret, is HTTP 400
//     "check-and-set parameter did not match the current version"),
//     DELETE /v1/<mount>/data/<path> (soft-deletes the latest version),
//     GET/DELETE /v1/<mount>/metadata/<path> (versions, current_version);
//   - the token header X-Vault-Token (or Authorization: Bearer): a missing or
//     unknown token is HTTP 403 {"errors": ["permission denied"]};
//   - AppRole login (https://developer.hashicorp.com/vault/api-docs/auth/approle):
//     POST /v1/auth/<mount>/login {"role_id", "secret_id"} answers
//     {"auth": {"client_token": ...}}; wrong credentials are HTTP 400;
//   - error bodies are {"errors": [...]}; a sealed server answers 503.
//
// It also goes down and comes back on the same address (Down, Up), can be
// sealed, serves TLS with its own CA on request, and counts requests. New
// runs one outside `go test`: the standin command (vaulttest/standin) serves
// it to a local deployment (tools/deploylocal TestRotateErrandLocal). It is
// a test stand-in, never a Vault replacement: secrets live in memory, and
// every valid token (root or AppRole) may read and write every path.
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
	"strconv"
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
}

type version struct {
	data    map[string]any
	created time.Time
	deleted time.Time
}

type secret struct {
	versions []*version // versions[i] is version i+1
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
	tokens   map[string]bool
	roles    map[string]string // role_id -> secret_id
	secrets  map[string]*secret
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
	s := &Server{opts: o, tokens: map[string]bool{}, roles: map[string]string{}, secrets: map[string]*secret{},
		mounts: map[string]bool{}, requests: map[string]int{}}
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

// NewToken creates and returns a valid token.
func (s *Server) NewToken() string {
	t := "hvs." + randomHex(12)
	s.mu.Lock()
	s.tokens[t] = true
	s.mu.Unlock()
	return t
}

// RevokeToken makes t invalid.
func (s *Server) RevokeToken(t string) { s.mu.Lock(); delete(s.tokens, t); s.mu.Unlock() }

// AddAppRole creates an AppRole and returns its role_id and secret_id.
func (s *Server) AddAppRole() (roleID, secretID string) {
	roleID, secretID = randomHex(8), randomHex(16)
	s.mu.Lock()
	s.roles[roleID] = secretID
	s.mu.Unlock()
	return roleID, secretID
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

// Writes is the number of secret writes accepted so far.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sec := range s.secrets {
		n += len(sec.versions)
	}
	return n
}

// Get returns a copy of the latest version's data and its number (0, nil if none).
func (s *Server) Get(mount, path string) (map[string]any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[mount+"/"+path]
	if sec == nil || len(sec.versions) == 0 {
		return nil, 0
	}
	v := sec.versions[len(sec.versions)-1]
	return clone(v.data), len(sec.versions)
}

// Put writes data as a new version without check-and-set (test set-up).
func (s *Server) Put(mount, path string, data map[string]any) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(mount+"/"+path, data)
}

func (s *Server) put(key string, data map[string]any) int {
	sec := s.secrets[key]
	if sec == nil {
		sec = &secret{}
		s.secrets[key] = sec
	}
	sec.versions = append(sec.versions, &version{data: clone(data), created: time.Now().UTC()})
	return len(sec.versions)
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
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

// response wraps data the way Vault's logical responses do.
func response(data any) map[string]any {
	return map[string]any{"request_id": randomHex(8), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": data, "wrap_info": nil, "warnings": nil, "auth": nil, "mount_type": "kv"}
}

func (v *version) metadata(n int) map[string]any {
	del := ""
	if !v.deleted.IsZero() {
		del = v.deleted.Format(time.RFC3339Nano)
	}
	return map[string]any{"created_time": v.created.Format(time.RFC3339Nano), "custom_metadata": nil,
		"deletion_time": del, "destroyed": false, "version": n}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		writeErr(w, http.StatusNotFound)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sealed {
		writeErr(w, http.StatusServiceUnavailable, "Vault is sealed")
		return
	}
	if rest, ok := strings.CutPrefix(p, "auth/"+s.opts.AppRoleMount+"/"); ok && rest == "login" {
		s.requests[r.Method+" login"]++
		s.login(w, r)
		return
	}
	token := r.Header.Get("X-Vault-Token")
	if token == "" {
		token, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if !s.tokens[token] {
		writeErr(w, http.StatusForbidden, "permission denied")
		return
	}
	mount, rest, _ := strings.Cut(p, "/")
	kind, path, _ := strings.Cut(rest, "/")
	if !s.mounts[mount] || path == "" || (kind != "data" && kind != "metadata") {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
		return
	}
	method := r.Method
	if method == http.MethodPost {
		method = http.MethodPut
	}
	s.requests[method+" "+kind]++
	key := mount + "/" + strings.Trim(path, "/")
	switch kind + " " + method {
	case "data GET":
		s.read(w, r, key)
	case "data PUT":
		s.write(w, r, key)
	case "data DELETE":
		if sec := s.secrets[key]; sec != nil && len(sec.versions) > 0 {
			sec.versions[len(sec.versions)-1].deleted = time.Now().UTC()
		}
		w.WriteHeader(http.StatusNoContent)
	case "metadata GET":
		s.readMetadata(w, key)
	case "metadata DELETE":
		delete(s.secrets, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeErr(w, http.StatusMethodNotAllowed, "unsupported operation")
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		writeErr(w, http.StatusMethodNotAllowed, "unsupported operation")
		return
	}
	var body struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErr(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	want, ok := s.roles[body.RoleID]
	switch {
	case body.RoleID == "":
		writeErr(w, http.StatusBadRequest, "missing role_id")
		return
	case !ok:
		writeErr(w, http.StatusBadRequest, "invalid role or secret ID")
		return
	case want != body.SecretID:
		writeErr(w, http.StatusBadRequest, "invalid role or secret ID")
		return
	}
	t := "hvs." + randomHex(12)
	s.tokens[t] = true
	resp := response(nil)
	resp["auth"] = map[string]any{"client_token": t, "accessor": randomHex(8), "policies": []string{"default", "diego-bbs"},
		"token_policies": []string{"default", "diego-bbs"}, "metadata": map[string]string{"role_name": "diego-bbs"},
		"lease_duration": 3600, "renewable": true, "entity_id": "", "token_type": "service", "orphan": true}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) read(w http.ResponseWriter, r *http.Request, key string) {
	sec := s.secrets[key]
	if sec == nil || len(sec.versions) == 0 {
		writeErr(w, http.StatusNotFound)
		return
	}
	n := len(sec.versions)
	if q := r.URL.Query().Get("version"); q != "" && q != "0" {
		v, err := strconv.Atoi(q)
		if err != nil || v < 1 || v > len(sec.versions) {
			writeErr(w, http.StatusNotFound)
			return
		}
		n = v
	}
	v := sec.versions[n-1]
	if !v.deleted.IsZero() {
		// Vault answers 404 with the metadata and null data for a deleted version.
		writeJSON(w, http.StatusNotFound, response(map[string]any{"data": nil, "metadata": v.metadata(n)}))
		return
	}
	writeJSON(w, http.StatusOK, response(map[string]any{"data": v.data, "metadata": v.metadata(n)}))
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, key string) {
	var body struct {
		Data    map[string]any `json:"data"`
		Options struct {
			CAS *int `json:"cas"`
		} `json:"options"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErr(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	if body.Data == nil {
		writeErr(w, http.StatusBadRequest, "no data provided")
		return
	}
	current := 0
	if sec := s.secrets[key]; sec != nil {
		current = len(sec.versions)
	}
	if body.Options.CAS != nil && *body.Options.CAS != current {
		writeErr(w, http.StatusBadRequest, "check-and-set parameter did not match the current version")
		return
	}
	n := s.put(key, body.Data)
	writeJSON(w, http.StatusOK, response(s.secrets[key].versions[n-1].metadata(n)))
}

func (s *Server) readMetadata(w http.ResponseWriter, key string) {
	sec := s.secrets[key]
	if sec == nil || len(sec.versions) == 0 {
		writeErr(w, http.StatusNotFound)
		return
	}
	versions := map[string]any{}
	for i, v := range sec.versions {
		m := v.metadata(i + 1)
		delete(m, "version")
		delete(m, "custom_metadata")
		versions[strconv.Itoa(i+1)] = m
	}
	first, last := sec.versions[0], sec.versions[len(sec.versions)-1]
	writeJSON(w, http.StatusOK, response(map[string]any{
		"cas_required": false, "created_time": first.created.Format(time.RFC3339Nano),
		"current_version": len(sec.versions), "custom_metadata": nil, "delete_version_after": "0s",
		"max_versions": 0, "oldest_version": 0, "updated_time": last.created.Format(time.RFC3339Nano),
		"versions": versions,
	}))
}
