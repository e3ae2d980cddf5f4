package sshproxy_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/sshproxy"
	"github.com/diego-go/diego/src/sshproxy/sshproxytest"
)

const (
	appGUID = "2b6c1f2e-8c1a-4a3e-9f00-5d0b1f1c0a11"
	code    = "one-time-code"
)

// fakeCF answers as UAA's /oauth/token and Cloud Controller's
// /internal/apps/:guid/ssh_access/:index do.
func fakeCF(t testing.TB, processGUID string) (uaa, cc *httptest.Server) {
	token := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"user_id":"u-123","user_name":"alice","scope":["cloud_controller.read"]}`)) + ".c2ln"
	uaa = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/oauth/token":
			w.WriteHeader(http.StatusNotFound)
		case user != "ssh-proxy" || pass != "uaa-secret":
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"unauthorized","error_description":"Bad credentials"}`))
		case r.Form.Get("grant_type") != "authorization_code" || r.Form.Get("code") != code:
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid authorization code: ` + r.Form.Get("code") + `"}`))
		default:
			json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "bearer", "expires_in": 599, "scope": "cloud_controller.read", "jti": "j"})
		}
	}))
	cc = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Authorization") != "bearer "+token:
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"code":1000,"description":"Invalid Auth Token","error_code":"CF-InvalidAuthToken"}`))
		case r.URL.Path == "/internal/apps/"+appGUID+"/ssh_access/0":
			json.NewEncoder(w).Encode(map[string]string{"process_guid": processGUID})
		case r.URL.Path == "/internal/apps/"+appGUID+"/ssh_access/9":
			w.Write([]byte(`not json`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"code":100004,"description":"The app could not be found","error_code":"CF-AppNotFound"}`))
		}
	}))
	t.Cleanup(uaa.Close)
	t.Cleanup(cc.Close)
	return uaa, cc
}

func cfRealm(uaa, cc *httptest.Server) sshproxy.CFRealm {
	return sshproxy.CFRealm{HTTP: http.DefaultClient, CCURL: cc.URL, TokenURL: uaa.URL + "/oauth/token", Username: "ssh-proxy", Password: "uaa-secret"}
}

func TestCFRealm(t *testing.T) {
	uaa, cc := fakeCF(t, "pg-of-the-app")
	r := cfRealm(uaa, cc)
	g, err := r.Authenticate(context.Background(), sshproxy.Login{Realm: "cf", GUID: appGUID, Index: 0}, []byte(code))
	if err != nil || g.ProcessGUID != "pg-of-the-app" || g.Index != 0 || g.Principal != "cf-user:alice (u-123)" {
		t.Fatalf("a good code: %+v, %v", g, err)
	}
	for _, tc := range []struct {
		login sshproxy.Login
		code  string
		want  error
	}{
		{sshproxy.Login{"cf", appGUID, 0}, "stale-code", sshproxy.ErrAuthenticationFailed},
		{sshproxy.Login{"cf", "other-app", 0}, code, sshproxy.ErrFetchAppFailed},
		{sshproxy.Login{"cf", appGUID, 9}, code, sshproxy.ErrInvalidCCResponse},
	} {
		if _, err := r.Authenticate(context.Background(), tc.login, []byte(tc.code)); !errors.Is(err, tc.want) {
			t.Errorf("%+v with %q: %v; want %v", tc.login, tc.code, err, tc.want)
		}
	}
	bad := r
	bad.Password = "wrong"
	if _, err := bad.Authenticate(context.Background(), sshproxy.Login{"cf", appGUID, 0}, []byte(code)); !errors.Is(err, sshproxy.ErrAuthenticationFailed) {
		t.Errorf("the proxy's own UAA client refused: %v", err)
	}
}

// `cf ssh`'s path: cf:APP_GUID/INDEX with a one-time code, through the
// proxy to the app's process.
func TestCFRealmThroughTheProxy(t *testing.T) {
	uaa, cc := fakeCF(t, "pg-cf-app")
	w := sshproxytest.Start(t, func(c *sshproxy.Config) { c.Realms = append(c.Realms, cfRealm(uaa, cc)) })
	w.Desire(t, "pg-cf-app", 1, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	c := w.Client(t, "cf:"+appGUID+"/0", code)
	if r := c.Run(t, "", "ssh", c.Target(), "echo via-cf"); r.Stdout != "via-cf\n" {
		t.Fatalf("cf realm: %+v", r)
	}
	if !strings.Contains(w.Audit.String(), `"principal":"cf-user:alice (u-123)"`) {
		t.Errorf("the audit log lacks the CF user:\n%s", w.Audit.String())
	}
	c = w.Client(t, "cf:"+appGUID+"/0", "used-code")
	if r := c.Run(t, "", "ssh", c.Target(), "true"); r.Code != 255 || !strings.Contains(r.Stderr, "Authentication failed") {
		t.Fatalf("a bad code: %+v", r)
	}
}
