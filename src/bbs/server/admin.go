package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/diego-go/diego/src/bbs/rotation"
)

// EncryptionStatus is the admin API's report.
type EncryptionStatus = rotation.Status

// adminRoutes registers the JSON admin API. Callers must present a client
// certificate whose common name is in AdminCommonNames.
func (s *Server) adminRoutes() {
	if s.cfg.Admin == nil {
		return
	}
	s.mux.HandleFunc("POST /v1/admin/encryption/reload", s.admin(s.cfg.Admin.ReloadKeys))
	s.mux.HandleFunc("POST /v1/admin/encryption/reencrypt", s.admin(s.cfg.Admin.StartReencrypt))
	s.mux.HandleFunc("GET /v1/admin/encryption/status", s.admin(s.cfg.Admin.Status))
}

func (s *Server) admin(fn func(ctx context.Context) (EncryptionStatus, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.isAdmin(r) {
			writeJSON(w, http.StatusForbidden, map[string]string{
				"error": "admin API requires a client certificate whose common name is one of admin_common_names",
			})
			return
		}
		st, err := fn(r.Context())
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, rotation.ErrKeyInUse) {
				code = http.StatusConflict
			}
			s.log.Error("admin call failed", "path", r.URL.Path, "err", err)
			writeJSON(w, code, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, st)
	}
}

func (s *Server) isAdmin(r *http.Request) bool {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return false
	}
	return slices.Contains(s.cfg.AdminCommonNames, r.TLS.VerifiedChains[0][0].Subject.CommonName)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
