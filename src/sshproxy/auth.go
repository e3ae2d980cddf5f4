// Package sshproxy is the SSH proxy: it authenticates users of the diego
// and cf realms, finds the instance's SSH daemon through the BBS and
// splices the two SSH connections.
package sshproxy

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The reference's authentication errors, by their messages.
var (
	ErrInvalidCredentials   = errors.New("Invalid credentials")
	ErrInvalidDomain        = errors.New("Invalid authentication domain")
	ErrAuthenticationFailed = errors.New("Authentication failed")
	ErrFetchAppFailed       = errors.New("Fetching application data failed")
	ErrInvalidCCResponse    = errors.New("Invalid response from Cloud Controller")
	ErrRouteNotFound        = errors.New("SSH routing info not found")
	ErrHostFingerprint      = errors.New("Host fingerprint mismatch")
	ErrInvalidUserFormat    = errors.New("Invalid user format")
)

// Login is a parsed user name, REALM:GUID/INDEX.
type Login struct {
	Realm string
	// GUID is the process guid (diego realm) or the app guid (cf realm).
	GUID  string
	Index int
}

var loginPattern = regexp.MustCompile(`^([a-z]+):([A-Za-z0-9_-]+)/(\d+)$`)

// ParseLogin parses a user name of the form REALM:GUID/INDEX.
func ParseLogin(user string) (Login, error) {
	m := loginPattern.FindStringSubmatch(user)
	if m == nil {
		realm, _, ok := strings.Cut(user, ":")
		if !ok {
			return Login{}, fmt.Errorf("%w: user %q has no realm; log in as diego:PROCESS_GUID/INDEX or cf:APP_GUID/INDEX", ErrInvalidDomain, user)
		}
		return Login{}, fmt.Errorf("%w: user %q must be %s:GUID/INDEX (INDEX a number)", ErrInvalidUserFormat, user, realm)
	}
	index, err := strconv.Atoi(m[3])
	if err != nil {
		return Login{}, fmt.Errorf("%w: index %q of user %q", ErrInvalidUserFormat, m[3], user)
	}
	return Login{Realm: m[1], GUID: m[2], Index: index}, nil
}

// Grant is what a realm allows: one instance of one process, and who asked.
type Grant struct {
	ProcessGUID string
	Index       int
	// Principal names the authenticated party for the audit log.
	Principal string
}

// Authenticator is one realm's check of a login and its password.
type Authenticator interface {
	// Realm is the user name prefix it serves ("diego", "cf").
	Realm() string
	// Authenticate checks password for login and says which instance it
	// opens; errors are shown to the user.
	Authenticate(ctx context.Context, login Login, password []byte) (Grant, error)
}

// DiegoRealm admits diego:PROCESS_GUID/INDEX with the configured
// credentials (diego_credentials).
type DiegoRealm struct {
	Credentials []byte
}

// Realm is "diego".
func (DiegoRealm) Realm() string { return "diego" }

// Authenticate compares the password with the credentials.
func (r DiegoRealm) Authenticate(_ context.Context, login Login, password []byte) (Grant, error) {
	if len(r.Credentials) == 0 || subtle.ConstantTimeCompare(r.Credentials, password) != 1 {
		return Grant{}, ErrInvalidCredentials
	}
	return Grant{ProcessGUID: login.GUID, Index: login.Index, Principal: "diego-credentials"}, nil
}

// Realms picks the authenticator of a login's realm.
type Realms []Authenticator

// Authenticate parses user and hands it to its realm.
func (rs Realms) Authenticate(ctx context.Context, user string, password []byte) (Login, Grant, error) {
	login, err := ParseLogin(user)
	if err != nil {
		return login, Grant{}, err
	}
	var names []string
	for _, a := range rs {
		if a.Realm() == login.Realm {
			g, err := a.Authenticate(ctx, login, password)
			return login, g, err
		}
		names = append(names, a.Realm()+":")
	}
	return login, Grant{}, fmt.Errorf("%w: realm %q is not enabled here (enabled: %s)", ErrInvalidDomain, login.Realm, strings.Join(names, ", "))
}
