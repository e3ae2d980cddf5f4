package sshproxy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// CFRealm admits cf:APP_GUID/INDEX whose password is a one-time UAA
// authorization code (`cf ssh-code`): it trades the code for a token at
// UAA, then asks Cloud Controller whether that token may reach the app's
// instance and which process guid it runs as.
type CFRealm struct {
	HTTP *http.Client
	// CCURL is Cloud Controller's internal API (cc_api_url).
	CCURL string
	// TokenURL is UAA's /oauth/token; Username and Password the proxy's
	// own OAuth client (uaa_username, uaa_password).
	TokenURL, Username, Password string
}

// Realm is "cf".
func (CFRealm) Realm() string { return "cf" }

// Authenticate trades the code and checks access with Cloud Controller.
func (r CFRealm) Authenticate(ctx context.Context, login Login, password []byte) (Grant, error) {
	token, err := r.token(ctx, string(password))
	if err != nil {
		return Grant{}, err
	}
	processGUID, err := r.sshAccess(ctx, login, token)
	if err != nil {
		return Grant{}, err
	}
	return Grant{ProcessGUID: processGUID, Index: login.Index, Principal: principal(token.AccessToken)}, nil
}

type uaaToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

func (r CFRealm) token(ctx context.Context, code string) (uaaToken, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return uaaToken{}, fmt.Errorf("%w: uaa_token_url: %v", ErrAuthenticationFailed, err)
	}
	req.SetBasicAuth(r.Username, r.Password)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return uaaToken{}, fmt.Errorf("%w: UAA: %v", ErrAuthenticationFailed, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return uaaToken{}, fmt.Errorf("%w: UAA refused the code (status %d); get a new one with `cf ssh-code`", ErrAuthenticationFailed, resp.StatusCode)
	}
	var t uaaToken
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.AccessToken == "" {
		return uaaToken{}, fmt.Errorf("%w: UAA's token response has no access_token", ErrAuthenticationFailed)
	}
	if t.TokenType == "" {
		t.TokenType = "bearer"
	}
	return t, nil
}

func (r CFRealm) sshAccess(ctx context.Context, login Login, t uaaToken) (string, error) {
	u := strings.TrimSuffix(r.CCURL, "/") + "/internal/apps/" + url.PathEscape(login.GUID) + "/ssh_access/" + strconv.Itoa(login.Index)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("%w: cc_api_url: %v", ErrFetchAppFailed, err)
	}
	req.Header.Set("Authorization", t.TokenType+" "+t.AccessToken)
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: Cloud Controller: %v", ErrFetchAppFailed, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return "", fmt.Errorf("%w: Cloud Controller answered %d for app %s instance %d (no such app, SSH disabled, or no access)", ErrFetchAppFailed, resp.StatusCode, login.GUID, login.Index)
	}
	var body struct {
		ProcessGUID string `json:"process_guid"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.ProcessGUID == "" {
		return "", ErrInvalidCCResponse
	}
	return body.ProcessGUID, nil
}

// principal names a token's user (its user_name and user_id claims), for
// the audit log only: the signature is Cloud Controller's to check.
func principal(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "unknown"
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "unknown"
	}
	var claims struct {
		UserName string `json:"user_name"`
		UserID   string `json:"user_id"`
	}
	if json.Unmarshal(b, &claims) != nil || (claims.UserName == "" && claims.UserID == "") {
		return "unknown"
	}
	return "cf-user:" + claims.UserName + " (" + claims.UserID + ")"
}
