package vaulttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// deniedBody is the error a real server (Vault 1.x, OpenBao 2.0) sends
// when a policy refuses a request: a multi-line multierror text.
const deniedBody = "1 error occurred:\n\t* permission denied\n\n"

// kv v2 endpoints under a mount.
var kinds = map[string]bool{"data": true, "metadata": true, "delete": true, "undelete": true, "destroy": true}

// request is one authenticated KV v2 request.
type request struct {
	w        http.ResponseWriter
	r        *http.Request
	policies []string
	mount    string
	kind     string // data, metadata, delete, undelete, destroy
	path     string // the secret's path under the mount
	key      string // mount + "/" + path
}

// acl is the path policies are checked on: <mount>/<kind>/<path>.
func (q *request) acl() string { return q.mount + "/" + q.kind + "/" + q.path }

// allow checks capability on the request's path; on a denial it answers
// 403 as Vault does and returns false. Called with s.mu held.
func (s *Server) allow(q *request, capability string) bool {
	if s.allowed(q.policies, q.acl(), capability) {
		return true
	}
	s.denials = append(s.denials, capability+" "+q.acl())
	writeErr(q.w, http.StatusForbidden, deniedBody)
	return false
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
	policies, ok := s.tokens[token]
	if !ok {
		writeErr(w, http.StatusForbidden, "permission denied")
		return
	}
	if p == "sys/capabilities-self" {
		s.requests[r.Method+" capabilities"]++
		s.capabilitiesSelf(w, r, policies)
		return
	}
	mount, rest, _ := strings.Cut(p, "/")
	kind, path, _ := strings.Cut(rest, "/")
	list := r.Method == "LIST" || (r.Method == http.MethodGet && r.URL.Query().Get("list") == "true")
	if !s.mounts[mount] || !kinds[kind] || (path == "" && !(list && kind == "metadata")) {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
		return
	}
	method := r.Method
	if method == http.MethodPost {
		method = http.MethodPut
	}
	if list {
		method = "LIST"
	}
	s.requests[method+" "+kind]++
	q := &request{w: w, r: r, policies: policies, mount: mount, kind: kind, path: path, key: mount + "/" + strings.Trim(path, "/")}
	switch kind + " " + method {
	case "data GET":
		s.read(q)
	case "data PUT":
		s.write(q)
	case "data DELETE":
		s.deleteLatest(q)
	case "delete PUT", "undelete PUT", "destroy PUT":
		s.versionOp(q)
	case "metadata GET":
		s.readMetadata(q)
	case "metadata LIST":
		s.list(q)
	case "metadata PUT":
		s.writeMetadata(q)
	case "metadata DELETE":
		s.deleteMetadata(q)
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
	role, ok := s.roles[body.RoleID]
	switch {
	case body.RoleID == "":
		writeErr(w, http.StatusBadRequest, "missing role_id")
		return
	case !ok || role.secretID != body.SecretID:
		writeErr(w, http.StatusBadRequest, "invalid role or secret ID")
		return
	}
	t := "hvs." + randomHex(12)
	s.tokens[t] = role.policies
	policies := append([]string{"default"}, role.policies...)
	resp := response(nil)
	resp["auth"] = map[string]any{"client_token": t, "accessor": randomHex(8), "policies": policies,
		"token_policies": policies, "metadata": map[string]string{"role_name": "diego"},
		"lease_duration": 3600, "renewable": true, "entity_id": "", "token_type": "service", "orphan": true}
	writeJSON(w, http.StatusOK, resp)
}

// capabilitiesSelf is POST sys/capabilities-self {"paths": [...]}: the
// token's capabilities on each path, under the path's name, and under
// "capabilities" too with a single path.
func (s *Server) capabilitiesSelf(w http.ResponseWriter, r *http.Request, policies []string) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		writeErr(w, http.StatusMethodNotAllowed, "unsupported operation")
		return
	}
	if !s.allowed(policies, "sys/capabilities-self", CapUpdate) {
		s.denials = append(s.denials, "update sys/capabilities-self")
		writeErr(w, http.StatusForbidden, deniedBody)
		return
	}
	var body struct {
		Paths []string `json:"paths"`
		Path  string   `json:"path"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErr(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	if body.Path != "" {
		body.Paths = append(body.Paths, body.Path)
	}
	if len(body.Paths) == 0 {
		writeErr(w, http.StatusBadRequest, "missing paths")
		return
	}
	data := map[string]any{}
	for _, p := range body.Paths {
		data[p] = s.capabilitiesOf(policies, strings.TrimPrefix(p, "/"))
	}
	if len(body.Paths) == 1 {
		data["capabilities"] = data[body.Paths[0]]
	}
	resp := response(data)
	for k, v := range data { // Vault answers the data at the top level too
		resp[k] = v
	}
	writeJSON(w, http.StatusOK, resp)
}
