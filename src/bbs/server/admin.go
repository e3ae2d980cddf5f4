package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/diego-go/diego/src/bbs/reencrypt"
)

// EncryptionStatus is the admin API's report.
type EncryptionStatus = reencrypt.Status

// adminRoutes registers the JSON admin API. Callers must present a client
// certificate whose common name is in AdminCommonNames.
func (s *Server) adminRoutes() {
	if s.cfg.Admin == nil {
		return
	}
	for pattern, fn := range map[string]func(context.Context) (EncryptionStatus, error){
		"POST /v1/admin/encryption/reload":    s.cfg.Admin.ReloadKeys,
		"POST /v1/admin/encryption/reencrypt": s.cfg.Admin.StartReencrypt,
		"GET /v1/admin/encryption/status":     s.cfg.Admin.Status,
	} {
		s.paths[pattern[strings.IndexByte(pattern, ' ')+1:]] = true
		s.mux.HandleFunc(pattern, s.admin(fn))
	}
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
			if errors.Is(err, reencrypt.ErrKeyInUse) {
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
