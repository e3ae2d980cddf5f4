package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
)

// Auth says who may use the Hub.
type Auth struct {
	// Users are basic-auth logins: name -> SHA-256 of the password.
	Users map[string][32]byte
	// ClientCerts accepts a verified client certificate as a login (the
	// listener's TLS config checks it against the client CA).
	ClientCerts bool
}

// Required reports whether requests must log in (otherwise every request
// is "local": an unauthenticated loopback listener).
func (a Auth) Required() bool { return len(a.Users) > 0 || a.ClientCerts }

// ParseUsers maps the config's hex password hashes (invalid ones are left
// out: Validate refuses them).
func ParseUsers(names, hashes []string) map[string][32]byte {
	out := map[string][32]byte{}
	for i := range names {
		b, err := hex.DecodeString(hashes[i])
		if err != nil || len(b) != 32 {
			continue
		}
		out[names[i]] = [32]byte(b)
	}
	return out
}

type whoKey struct{}

// Who is the login of a request: the basic-auth user, the client
// certificate's common name, or "local".
func Who(ctx context.Context) string {
	if s, ok := ctx.Value(whoKey{}).(string); ok {
		return s
	}
	return "local"
}

// login wraps next with the login check.
func (a Auth) login(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok := a.who(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="Diego Hub", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "log in: a user and password from the Hub's config (users), or a client certificate signed by tls.client_ca_file")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), whoKey{}, who)))
	})
}

func (a Auth) who(r *http.Request) (string, bool) {
	if !a.Required() {
		return "local", true
	}
	if a.ClientCerts && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return "cert:" + r.TLS.VerifiedChains[0][0].Subject.CommonName, true
	}
	name, pass, ok := r.BasicAuth()
	if !ok || len(a.Users) == 0 {
		return "", false
	}
	got := sha256.Sum256([]byte(pass))
	want, known := a.Users[name]
	if !known {
		want = [32]byte{} // still compare, so unknown names take as long
	}
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !known {
		return "", false
	}
	return name, true
}
