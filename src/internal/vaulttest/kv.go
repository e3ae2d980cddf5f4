package vaulttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// version is one version of a KV v2 secret.
type version struct {
	data      map[string]any // nil once destroyed
	created   time.Time
	deleted   time.Time
	destroyed bool
}

// secret is a KV v2 secret: its metadata and the versions still kept.
type secret struct {
	versions    map[int]*version
	current     int
	maxVersions int // 0: the mount's
	casRequired bool
	created     time.Time
	updated     time.Time
}

func (s *Server) newSecret(key string) *secret {
	now := time.Now().UTC()
	sec := &secret{versions: map[int]*version{}, created: now, updated: now}
	s.secrets[key] = sec
	return sec
}

// add appends data as the next version and drops versions beyond
// max_versions, oldest first, as Vault does.
func (s *Server) add(sec *secret, data map[string]any) int {
	sec.current++
	now := time.Now().UTC()
	sec.versions[sec.current] = &version{data: clone(data), created: now}
	sec.updated = now
	limit := sec.maxVersions
	if limit <= 0 {
		limit = s.opts.MaxVersions
	}
	for len(sec.versions) > limit {
		delete(sec.versions, slices.Min(keys(sec.versions)))
	}
	return sec.current
}

func keys(m map[int]*version) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Writes is the number of secret writes accepted so far (versions
// created, including those max_versions dropped since).
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sec := range s.secrets {
		n += sec.current
	}
	return n
}

// Get returns a copy of the latest version's data and its number (0, nil
// if none; nil data if it is deleted or destroyed).
func (s *Server) Get(mount, path string) (map[string]any, int) {
	return s.GetVersion(mount, path, 0)
}

// GetVersion returns a copy of version n's data (0: the latest) and its
// number, bypassing policies (test inspection); nil if it is gone, deleted
// or destroyed.
func (s *Server) GetVersion(mount, path string, n int) (map[string]any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[mount+"/"+path]
	if sec == nil || sec.current == 0 {
		return nil, 0
	}
	if n == 0 {
		n = sec.current
	}
	v := sec.versions[n]
	if v == nil || v.destroyed || !v.deleted.IsZero() {
		return nil, n
	}
	return clone(v.data), n
}

// Put writes data as a new version without check-and-set or policies
// (test set-up), returning its number.
func (s *Server) Put(mount, path string, data map[string]any) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[mount+"/"+path]
	if sec == nil {
		sec = s.newSecret(mount + "/" + path)
	}
	return s.add(sec, data)
}

func clone(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
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
		"deletion_time": del, "destroyed": v.destroyed, "version": n}
}

// read is GET data/<path>[?version=N] ("read"): the version's data, or 404
// with null data and the metadata for a deleted or destroyed version, or
// 404 with no data for one never written or dropped by max_versions.
func (s *Server) read(q *request) {
	if !s.allow(q, CapRead) {
		return
	}
	sec := s.secrets[q.key]
	if sec == nil || sec.current == 0 {
		writeErr(q.w, http.StatusNotFound)
		return
	}
	n := sec.current
	if qv := q.r.URL.Query().Get("version"); qv != "" && qv != "0" {
		var err error
		if n, err = strconv.Atoi(qv); err != nil {
			writeErr(q.w, http.StatusBadRequest, "invalid version "+strconv.Quote(qv))
			return
		}
	}
	v := sec.versions[n]
	switch {
	case v == nil:
		writeErr(q.w, http.StatusNotFound)
	case v.destroyed || !v.deleted.IsZero():
		writeJSON(q.w, http.StatusNotFound, response(map[string]any{"data": nil, "metadata": v.metadata(n)}))
	default:
		writeJSON(q.w, http.StatusOK, response(map[string]any{"data": v.data, "metadata": v.metadata(n)}))
	}
}

// write is POST/PUT data/<path>: "create" when the secret's metadata does
// not exist, "update" when it does (Vault's existence check), then
// check-and-set.
func (s *Server) write(q *request) {
	sec := s.secrets[q.key]
	capability := CapCreate
	if sec != nil {
		capability = CapUpdate
	}
	if !s.allow(q, capability) {
		return
	}
	var body struct {
		Data    map[string]any `json:"data"`
		Options struct {
			CAS *int `json:"cas"`
		} `json:"options"`
	}
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		writeErr(q.w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	if body.Data == nil {
		writeErr(q.w, http.StatusBadRequest, "no data provided")
		return
	}
	current := 0
	if sec != nil {
		current = sec.current
	}
	if sec != nil && sec.casRequired && body.Options.CAS == nil {
		writeErr(q.w, http.StatusBadRequest, "check-and-set parameter required for this call")
		return
	}
	if body.Options.CAS != nil && *body.Options.CAS != current {
		writeErr(q.w, http.StatusBadRequest, "check-and-set parameter did not match the current version")
		return
	}
	if sec == nil {
		sec = s.newSecret(q.key)
	}
	n := s.add(sec, body.Data)
	writeJSON(q.w, http.StatusOK, response(sec.versions[n].metadata(n)))
}

// deleteLatest is DELETE data/<path> ("delete"): soft-deletes the latest version.
func (s *Server) deleteLatest(q *request) {
	if !s.allow(q, CapDelete) {
		return
	}
	if sec := s.secrets[q.key]; sec != nil {
		if v := sec.versions[sec.current]; v != nil && v.deleted.IsZero() {
			v.deleted = time.Now().UTC()
		}
	}
	q.w.WriteHeader(http.StatusNoContent)
}

// versionOp is POST delete|undelete|destroy/<path> {"versions": [...]}
// ("update"): soft-delete, undelete (not a destroyed one) or destroy
// (the data is gone for good) each listed version; versions that do not
// exist are skipped, as is a secret that does not exist.
func (s *Server) versionOp(q *request) {
	if !s.allow(q, CapUpdate) {
		return
	}
	var body struct {
		Versions any `json:"versions"`
	}
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		writeErr(q.w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	versions, err := commaInts(body.Versions)
	if err != nil {
		writeErr(q.w, http.StatusBadRequest, "versions: "+err.Error())
		return
	}
	if len(versions) == 0 {
		writeErr(q.w, http.StatusBadRequest, "no version number provided")
		return
	}
	sec := s.secrets[q.key]
	for _, n := range versions {
		var v *version
		if sec != nil {
			v = sec.versions[n]
		}
		if v == nil || v.destroyed {
			continue
		}
		switch q.kind {
		case "delete":
			if v.deleted.IsZero() {
				v.deleted = time.Now().UTC()
			}
		case "undelete":
			v.deleted = time.Time{}
		case "destroy":
			v.destroyed, v.data = true, nil
		}
	}
	q.w.WriteHeader(http.StatusNoContent)
}

// readMetadata is GET metadata/<path> ("read").
func (s *Server) readMetadata(q *request) {
	if !s.allow(q, CapRead) {
		return
	}
	sec := s.secrets[q.key]
	if sec == nil {
		writeErr(q.w, http.StatusNotFound)
		return
	}
	versions := map[string]any{}
	oldest := 0
	for _, n := range keys(sec.versions) {
		m := sec.versions[n].metadata(n)
		delete(m, "version")
		delete(m, "custom_metadata")
		versions[strconv.Itoa(n)] = m
		if oldest == 0 {
			oldest = n
		}
	}
	writeJSON(q.w, http.StatusOK, response(map[string]any{
		"cas_required": sec.casRequired, "created_time": sec.created.Format(time.RFC3339Nano),
		"current_version": sec.current, "custom_metadata": nil, "delete_version_after": "0s",
		"max_versions": sec.maxVersions, "oldest_version": oldest, "updated_time": sec.updated.Format(time.RFC3339Nano),
		"versions": versions,
	}))
}

// writeMetadata is POST metadata/<path> {"max_versions", "cas_required"}
// ("create" or "update", as for data).
func (s *Server) writeMetadata(q *request) {
	sec := s.secrets[q.key]
	capability := CapCreate
	if sec != nil {
		capability = CapUpdate
	}
	if !s.allow(q, capability) {
		return
	}
	var body struct {
		MaxVersions *int  `json:"max_versions"`
		CASRequired *bool `json:"cas_required"`
	}
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		writeErr(q.w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	if sec == nil {
		sec = s.newSecret(q.key)
	}
	if body.MaxVersions != nil {
		sec.maxVersions = *body.MaxVersions
	}
	if body.CASRequired != nil {
		sec.casRequired = *body.CASRequired
	}
	q.w.WriteHeader(http.StatusNoContent)
}

// deleteMetadata is DELETE metadata/<path> ("delete"): the secret and
// every version are gone.
func (s *Server) deleteMetadata(q *request) {
	if !s.allow(q, CapDelete) {
		return
	}
	delete(s.secrets, q.key)
	q.w.WriteHeader(http.StatusNoContent)
}

// list is LIST metadata/<prefix> ("list"): the names under prefix, folders
// ending in "/".
func (s *Server) list(q *request) {
	if !s.allow(q, CapList) {
		return
	}
	prefix := q.mount + "/" + q.path
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var names []string
	for k := range s.secrets {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if i := strings.Index(rest, "/"); i >= 0 {
			rest = rest[:i+1]
		}
		if !slices.Contains(names, rest) {
			names = append(names, rest)
		}
	}
	if len(names) == 0 {
		writeErr(q.w, http.StatusNotFound)
		return
	}
	slices.Sort(names)
	writeJSON(q.w, http.StatusOK, response(map[string]any{"keys": names}))
}

// commaInts reads a Vault TypeCommaIntSlice: a list of numbers or numeric
// strings, or one comma-separated string.
func commaInts(v any) ([]int, error) {
	var items []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		for _, f := range strings.Split(x, ",") {
			if f = strings.TrimSpace(f); f != "" {
				items = append(items, f)
			}
		}
	case []any:
		items = x
	case float64:
		items = []any{x}
	default:
		return nil, fmt.Errorf("cannot read %v as a list of versions", v)
	}
	out := make([]int, 0, len(items))
	for _, it := range items {
		switch y := it.(type) {
		case float64:
			out = append(out, int(y))
		case string:
			n, err := strconv.Atoi(strings.TrimSpace(y))
			if err != nil {
				return nil, fmt.Errorf("%q is not a version number", y)
			}
			out = append(out, n)
		default:
			return nil, fmt.Errorf("cannot read %v as a version number", it)
		}
	}
	return out, nil
}
