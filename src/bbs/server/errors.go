package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/service"
)

// requestIDHeader is the header the reference's clients name a request by.
const requestIDHeader = "X-Vcap-Request-Id"

type requestKey struct{}

// requestInfo names the request an error is logged under.
type requestInfo struct{ id, path string }

// withRequest stores r's id (its X-Vcap-Request-Id when that is a short
// printable token, else a fresh random one) and path in its context.
func withRequest(r *http.Request) *http.Request {
	id := r.Header.Get(requestIDHeader)
	if !printableToken(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	return r.WithContext(context.WithValue(r.Context(), requestKey{}, requestInfo{id: id, path: r.URL.Path}))
}

func printableToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

func requestOf(ctx context.Context) requestInfo {
	info, _ := ctx.Value(requestKey{}).(requestInfo)
	return info
}

// errOf is the error a client sees for err. Typed errors (a *models.Error,
// and the store's not-found, exists, conflict and retryable errors) pass as
// the service maps them. Anything else, a database or driver failure above
// all, is logged in full with the request's id and path, and the client gets
// an UnknownError (or Timeout) that names only the request id: driver
// messages carry the database's host, user, database and table names.
func (s *Server) errOf(ctx context.Context, err error) *models.Error {
	if err == nil {
		return nil
	}
	var me *models.Error
	if errors.As(err, &me) {
		return me
	}
	e := service.ModelError(err)
	if e.Type != models.Error_UnknownError && e.Type != models.Error_Timeout {
		return e
	}
	info := requestOf(ctx)
	s.log.Error("request failed", "request_id", info.id, "path", info.path, "error_type", e.Type.String(), "err", err)
	what := "the BBS could not complete the request"
	if e.Type == models.Error_Timeout {
		what = "the request timed out in the BBS"
	}
	return models.NewError(e.Type, what+"; the BBS log has the cause under request id "+info.id)
}
