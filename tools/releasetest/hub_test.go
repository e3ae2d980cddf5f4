package releasetest

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// The hub job (Diego Hub, jobs/hub): TestRenderTemplates renders it in
// every scenario and runs `hub -check-config` on it; these tests check what
// the rendered config says, the template's refusals, and the binary's own.

// hubConfig is the hub's config file (src/hub/daemon.Config), decoded with
// unknown fields refused.
type hubConfig struct {
	ListenAddress string `json:"listen_address"`
	TLS           *struct {
		CertFile     string `json:"cert_file"`
		KeyFile      string `json:"key_file"`
		ClientCAFile string `json:"client_ca_file"`
	} `json:"tls"`
	Users []struct {
		Name           string `json:"name"`
		PasswordSHA256 string `json:"password_sha256"`
	} `json:"users"`
	BBS struct {
		URL        string `json:"url"`
		CACert     string `json:"ca_cert"`
		ClientCert string `json:"client_cert"`
		ClientKey  string `json:"client_key"`
	} `json:"bbs"`
	LocketAddress string            `json:"locket_address"`
	AuctioneerURL string            `json:"auctioneer_url"`
	MetricsURLs   map[string]string `json:"metrics_urls"`
	CellLocalURLs map[string]string `json:"cell_local_urls"`
	LogDir        string            `json:"log_dir"`
	PollInterval  string            `json:"poll_interval"`
	AuditLog      string            `json:"audit_log"`
	LogLevel      string            `json:"log_level"`
}

// renderHub renders the api group's hub job with ops applied to the base
// manifest and relocates its files; err is the template's raise.
func renderHub(t *testing.T, ops ...op) (out, root string, err error) {
	t.Helper()
	var files []string
	if len(ops) > 0 {
		files = []string{opsFileOf(t, ops...)}
	}
	out, root, err = renderAPIJob(t, "hub", files, nil)
	if err != nil {
		return "", "", err
	}
	if err := relocate(out, root); err != nil {
		t.Fatal(err)
	}
	return out, root, nil
}

func readHubConfig(t *testing.T, out string) hubConfig {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(readFile(t, filepath.Join(out, "config", "hub.json"))))
	dec.DisallowUnknownFields()
	var c hubConfig
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("config/hub.json: %v", err)
	}
	return c
}

// hubCheckConfig runs the repository's hub binary with -check-config on the
// rendered config at path.
func hubCheckConfig(t *testing.T, path string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binaries(t), "hub"), "-config", path, "-check-config")
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// generated returns the vars store's value of the generated variable name.
func generated(t *testing.T, name string) interface{} {
	t.Helper()
	var vars map[string]interface{}
	if err := yaml.Unmarshal([]byte(readFile(t, varsStore(t))), &vars); err != nil {
		t.Fatalf("vars store: %v", err)
	}
	v, ok := vars[name]
	if !ok {
		t.Fatalf("the vars store has no variable %s", name)
	}
	return v
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestHubJobBaseManifest: the hub as the base manifest places it (api
// group, every interface, HTTPS with the generated hub_server_cert, user
// admin, the hub_client certificate for the BBS) renders a config the hub
// binary accepts, with the password only as its SHA-256.
func TestHubJobBaseManifest(t *testing.T) {
	out, root, err := renderHub(t)
	if err != nil {
		t.Fatalf("rendering the hub job: %v", err)
	}
	c := readHubConfig(t, out)
	certs := filepath.Join(out, "config", "certs")
	if c.ListenAddress != "0.0.0.0:8898" {
		t.Errorf("listen_address = %q, want the job's default 0.0.0.0:8898", c.ListenAddress)
	}
	if c.TLS == nil || c.TLS.CertFile != filepath.Join(certs, "tls.crt") || c.TLS.KeyFile != filepath.Join(certs, "tls.key") || c.TLS.ClientCAFile != "" {
		t.Errorf("tls = %+v, want config/certs/tls.crt and tls.key, no client CA", c.TLS)
	}
	password, _ := generated(t, "hub_admin_password").(string)
	if password == "" {
		t.Fatal("hub_admin_password is not a generated password")
	}
	if len(c.Users) != 1 || c.Users[0].Name != "admin" || c.Users[0].PasswordSHA256 != sha256Hex(password) {
		t.Errorf("users = %+v, want admin with the SHA-256 of hub_admin_password", c.Users)
	}
	if strings.Contains(readFile(t, filepath.Join(out, "config", "hub.json")), password) {
		t.Error("config/hub.json holds the admin password itself")
	}
	if c.BBS.URL != "https://bbs.service.cf.internal:8889" || c.LocketAddress != "locket.service.cf.internal:8891" {
		t.Errorf("bbs.url %q, locket_address %q: want the api group's aliases", c.BBS.URL, c.LocketAddress)
	}
	if c.BBS.CACert != filepath.Join(certs, "bbs", "ca.crt") || c.BBS.ClientCert != filepath.Join(certs, "bbs", "client.crt") || c.BBS.ClientKey != filepath.Join(certs, "bbs", "client.key") {
		t.Errorf("bbs = %+v, want config/certs/bbs/{ca.crt,client.crt,client.key}", c.BBS)
	}
	want := map[string]string{"bbs": "http://127.0.0.1:8890/metrics", "locket": "http://127.0.0.1:8892/metrics"}
	if len(c.MetricsURLs) != len(want) || c.MetricsURLs["bbs"] != want["bbs"] || c.MetricsURLs["locket"] != want["locket"] {
		t.Errorf("metrics_urls = %v, want %v (the colocated BBS and Locket)", c.MetricsURLs, want)
	}
	if c.PollInterval != "5s" || c.LogLevel != "info" || c.AuditLog != filepath.Join(root, "sys", "log", "hub", "audit.log") || c.LogDir != "" || c.AuctioneerURL != "" || c.CellLocalURLs != nil {
		t.Errorf("config = %+v, want the spec's defaults (poll 5s, info, audit log in sys/log/hub, no log_dir, auctioneer or cell URLs)", c)
	}

	// the server certificate is the deployment CA's, for the alias
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caOf(t, "hub_server_cert"))) {
		t.Fatal("no CA for hub_server_cert")
	}
	pair, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
	if err != nil {
		t.Fatalf("tls.cert_file/key_file: %v", err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "hub.service.cf.internal"}); err != nil {
		t.Errorf("the hub's certificate for hub.service.cf.internal: %v", err)
	}
	// the client certificate: CN diego-hub, which the base manifest adds to
	// the BBS's admin_common_names; its CA file verifies the BBS's server
	client, err := tls.LoadX509KeyPair(c.BBS.ClientCert, c.BBS.ClientKey)
	if err != nil {
		t.Fatalf("bbs.client_cert/client_key: %v", err)
	}
	cl, _ := x509.ParseCertificate(client.Certificate[0])
	if cl.Subject.CommonName != "diego-hub" {
		t.Errorf("the hub's BBS client certificate's common name is %q, want diego-hub", cl.Subject.CommonName)
	}
	bbsPool := x509.NewCertPool()
	if !bbsPool.AppendCertsFromPEM([]byte(readFile(t, c.BBS.CACert))) {
		t.Fatal("config/certs/bbs/ca.crt holds no certificate")
	}
	bbsCert, _ := pem.Decode([]byte(generated(t, "bbs_server").(map[string]interface{})["certificate"].(string)))
	bbsLeaf, err := x509.ParseCertificate(bbsCert.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bbsLeaf.Verify(x509.VerifyOptions{Roots: bbsPool, DNSName: "bbs.service.cf.internal"}); err != nil {
		t.Errorf("the hub's BBS CA does not verify the BBS's certificate: %v", err)
	}
	if msg, err := hubCheckConfig(t, filepath.Join(out, "config", "hub.json")); err != nil {
		t.Errorf("hub -check-config: %v\n%s", err, msg)
	}
}

// TestHubJobLogins: users given by password or password_sha256 and a client
// CA for certificate logins are rendered as the hub reads them; a loopback
// listener without TLS or users renders (the hub then serves plain HTTP to
// the VM itself).
func TestHubJobLogins(t *testing.T) {
	const users = "/instance_groups/name=api/jobs/name=hub/properties/diego/hub/users"
	hash := sha256Hex("operator's password")
	out, _, err := renderHub(t,
		replace(users, []interface{}{
			map[string]interface{}{"name": "admin", "password": "admin's password"},
			map[string]interface{}{"name": "ops", "password_sha256": strings.ToUpper(hash)},
		}),
		replace("/instance_groups/name=api/jobs/name=hub/properties/diego/hub/tls/client_ca_cert?", "((diego_ca.certificate))"),
	)
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	c := readHubConfig(t, out)
	if len(c.Users) != 2 || c.Users[0].PasswordSHA256 != sha256Hex("admin's password") || c.Users[1].Name != "ops" || c.Users[1].PasswordSHA256 != hash {
		t.Errorf("users = %+v, want admin (hashed by the template) and ops (its hash, lower case)", c.Users)
	}
	if c.TLS == nil || c.TLS.ClientCAFile != filepath.Join(out, "config", "certs", "client_ca.crt") {
		t.Errorf("tls = %+v, want client_ca_file config/certs/client_ca.crt", c.TLS)
	}
	if !x509.NewCertPool().AppendCertsFromPEM([]byte(readFile(t, c.TLS.ClientCAFile))) {
		t.Error("config/certs/client_ca.crt holds no certificate")
	}
	if msg, err := hubCheckConfig(t, filepath.Join(out, "config", "hub.json")); err != nil {
		t.Errorf("hub -check-config: %v\n%s", err, msg)
	}

	// only a client CA, no users: a login all the same
	out, _, err = renderHub(t, remove(users),
		replace("/instance_groups/name=api/jobs/name=hub/properties/diego/hub/tls/client_ca_cert?", "((diego_ca.certificate))"))
	if err != nil {
		t.Fatalf("rendering with a client CA and no users: %v", err)
	}
	if c := readHubConfig(t, out); c.Users != nil || c.TLS == nil || c.TLS.ClientCAFile == "" {
		t.Errorf("config = %+v, want no users and a client CA", c)
	}
	if msg, err := hubCheckConfig(t, filepath.Join(out, "config", "hub.json")); err != nil {
		t.Errorf("hub -check-config (client CA, no users): %v\n%s", err, msg)
	}

	// loopback, no TLS, no users
	out, _, err = renderHub(t,
		remove("/instance_groups/name=api/jobs/name=hub/properties/diego/hub/tls"), remove(users),
		replace("/instance_groups/name=api/jobs/name=hub/properties/diego/hub/listen_addr?", "127.0.0.1:8898"))
	if err != nil {
		t.Fatalf("rendering a loopback hub without TLS or users: %v", err)
	}
	if c := readHubConfig(t, out); c.TLS != nil || c.Users != nil || c.ListenAddress != "127.0.0.1:8898" {
		t.Errorf("config = %+v, want 127.0.0.1:8898 without tls or users", c)
	}
	if msg, err := hubCheckConfig(t, filepath.Join(out, "config", "hub.json")); err != nil {
		t.Errorf("hub -check-config (loopback): %v\n%s", err, msg)
	}
}

// TestHubJobRefusals: the template refuses, naming the property, what the
// hub would refuse at start (or what would leave it open): a non-loopback
// listener without TLS or without a login, half a key pair, a client CA
// without TLS, and malformed users, addresses and URLs.
func TestHubJobRefusals(t *testing.T) {
	const hub = "/instance_groups/name=api/jobs/name=hub/properties/diego/hub"
	user := func(u map[string]interface{}) op { return replace(hub+"/users", []interface{}{u}) }
	for _, tc := range []struct {
		name string
		ops  []op
		want string
	}{
		{"no TLS on 0.0.0.0", []op{remove(hub + "/tls")},
			"diego.hub.listen_addr 0.0.0.0:8898 is not a loopback address: the hub then serves HTTPS only, set diego.hub.tls.cert and diego.hub.tls.key"},
		{"no login on 0.0.0.0", []op{remove(hub + "/users")},
			"diego.hub.listen_addr 0.0.0.0:8898 is not a loopback address: the hub then requires a login, set diego.hub.users"},
		{"no TLS on a VM address", []op{remove(hub + "/tls"), replace(hub+"/listen_addr?", "10.0.0.5:8898")},
			"diego.hub.listen_addr 10.0.0.5:8898 is not a loopback address"},
		{"certificate without key", []op{remove(hub + "/tls/key")}, "diego.hub.tls.cert and diego.hub.tls.key go together"},
		{"client CA without TLS", []op{remove(hub + "/tls"), replace(hub+"/listen_addr?", "127.0.0.1:8898"), replace(hub+"/tls?/client_ca_cert", "((diego_ca.certificate))")},
			"diego.hub.tls.client_ca_cert (login by client certificate) needs HTTPS"},
		{"password and hash", []op{user(map[string]interface{}{"name": "a", "password": "x", "password_sha256": sha256Hex("x")})},
			"diego.hub.users[0] (a): set exactly one of password and password_sha256"},
		{"neither password nor hash", []op{user(map[string]interface{}{"name": "a"})},
			"diego.hub.users[0] (a): set exactly one of password and password_sha256"},
		{"short hash", []op{user(map[string]interface{}{"name": "a", "password_sha256": "abc"})},
			"password_sha256 must be 64 hex digits"},
		{"no name", []op{user(map[string]interface{}{"password": "x"})}, "diego.hub.users[0] has no name"},
		{"colon in name", []op{user(map[string]interface{}{"name": "a:b", "password": "x"})}, "has a ':'"},
		{"unknown user key", []op{user(map[string]interface{}{"name": "a", "pasword": "x"})}, "unknown key(s) pasword"},
		{"twice the same user", []op{replace(hub+"/users/-", map[string]interface{}{"name": "admin", "password": "y"})}, `the name "admin" is given twice`},
		{"listen without port", []op{replace(hub+"/listen_addr?", "0.0.0.0")}, "diego.hub.listen_addr must be host:port"},
		{"bad log level", []op{replace(hub+"/log_level?", "loud")}, "diego.hub.log_level must be debug, info, warn or error"},
		{"metrics URL without scheme", []op{replace(hub+"/metrics_urls/bbs", "127.0.0.1:8890/metrics")}, "diego.hub.metrics_urls.bbs must be an http(s) URL"},
		{"cell URLs not a hash", []op{replace(hub+"/cell_local_urls?", []interface{}{"http://10.0.0.9:1800"})}, "diego.hub.cell_local_urls must be a hash of cell id to URL"},
		{"relative audit log", []op{replace(hub+"/audit_log?", "audit.log")}, "diego.hub.audit_log must be an absolute path or empty"},
	} {
		_, _, err := renderHub(t, tc.ops...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: rendering err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestHubBinaryRefusesInsecureConfig: the hub binary's own -check-config
// refuses the rendered config once its TLS or its logins are taken out, so
// a hand-edited config on a VM cannot open the hub either.
func TestHubBinaryRefusesInsecureConfig(t *testing.T) {
	out, _, err := renderHub(t)
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	path := filepath.Join(out, "config", "hub.json")
	var base map[string]interface{}
	if err := json.Unmarshal([]byte(readFile(t, path)), &base); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		drop, want string
	}{
		{"tls", "set tls.cert_file and tls.key_file"},
		{"users", "set users (basic-auth logins) or tls.client_ca_file"},
	} {
		c := map[string]interface{}{}
		for k, v := range base {
			if k != tc.drop {
				c[k] = v
			}
		}
		b, _ := json.Marshal(c)
		p := filepath.Join(t.TempDir(), "hub.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		msg, err := hubCheckConfig(t, p)
		if err == nil || !strings.Contains(msg, tc.want) {
			t.Errorf("hub -check-config without %s: err %v, output %q; want it refused with %q", tc.drop, err, msg, tc.want)
		}
	}
}

// TestHubOpsFiles: use-hub-on-own-vm.yml moves the hub (and its alias) to a
// `hub` group of its own; disable-hub.yml leaves no hub, alias or hub
// credential. (TestRenderTemplates renders both; TestBoshIntVarErrs
// interpolates them.)
func TestHubOpsFiles(t *testing.T) {
	interpolate := func(ops string) *boshrel.Manifest {
		t.Helper()
		b, err := boshrel.Interpolate(boshrel.Interpolation{
			Manifest: baseManifest(), OpsFiles: []string{releaseOpsFile(ops)}, VarsFiles: baseVarsFiles(),
		})
		if err != nil {
			t.Fatalf("interpolating with %s: %v", ops, err)
		}
		m, err := boshrel.ParseManifest(b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	where := func(m *boshrel.Manifest) []string {
		var groups []string
		for _, ig := range m.InstanceGroups {
			for _, j := range ig.Jobs {
				if j.Name == "hub" {
					groups = append(groups, ig.Name)
				}
			}
		}
		return groups
	}
	alias := func(m *boshrel.Manifest) string {
		for _, a := range m.Addons {
			for _, j := range a.Jobs {
				aliases, _ := j.Properties["aliases"].([]interface{})
				for _, x := range aliases {
					x, _ := x.(map[interface{}]interface{})
					if x["domain"] != "hub.service.cf.internal" {
						continue
					}
					targets, _ := x["targets"].([]interface{})
					if len(targets) == 1 {
						t0, _ := targets[0].(map[interface{}]interface{})
						s, _ := t0["instance_group"].(string)
						return s
					}
					return "?"
				}
			}
		}
		return ""
	}
	own := interpolate("use-hub-on-own-vm.yml")
	if g := where(own); len(g) != 1 || g[0] != "hub" {
		t.Errorf("use-hub-on-own-vm.yml: the hub job is in groups %v, want only hub", g)
	}
	if a := alias(own); a != "hub" {
		t.Errorf("use-hub-on-own-vm.yml: hub.service.cf.internal targets %q, want the hub group", a)
	}
	off := interpolate("disable-hub.yml")
	if g := where(off); len(g) != 0 {
		t.Errorf("disable-hub.yml: the hub job is still in %v", g)
	}
	if a := alias(off); a != "" {
		t.Errorf("disable-hub.yml: the hub.service.cf.internal alias is still there (%s)", a)
	}
	for _, v := range off.Variables {
		if n, _ := v["name"].(string); strings.HasPrefix(n, "hub_") {
			t.Errorf("disable-hub.yml: variable %s is still declared", n)
		}
	}
}

// TestHubJobServesOverTLS runs the real hub binary on the rendered config
// (the base manifest's, on a loopback port): /healthz answers over HTTPS
// with the deployment's certificate for hub.service.cf.internal, the API
// refuses a request without a login or with a wrong password, and lets the
// admin in with the generated hub_admin_password.
func TestHubJobServesOverTLS(t *testing.T) {
	addr := freePort(t)
	out, root, err := renderHub(t, replace("/instance_groups/name=api/jobs/name=hub/properties/diego/hub/listen_addr?", addr))
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	// the job's log directory (the audit log's), which bpm makes on a VM
	if err := os.MkdirAll(filepath.Join(root, "sys", "log", "hub"), 0o755); err != nil {
		t.Fatal(err)
	}
	logs := startJob(t, "hub", filepath.Join(out, "config", "hub.json"))
	client := aliasClient(t, "hub_server_cert", "hub.service.cf.internal", addr)
	get := func(path, user, password string) (int, string, error) {
		req, _ := http.NewRequest(http.MethodGet, "https://hub.service.cf.internal"+path, nil)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	waitServing(t, client, "https://hub.service.cf.internal/healthz", logs)
	code, body, err := get("/healthz", "", "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /healthz: %d %q %v, want 200\nhub logs:\n%s", code, body, err, readFile(t, logs))
	}
	password := generated(t, "hub_admin_password").(string)
	for _, c := range []struct {
		user, password string
		want           int
	}{
		{"", "", http.StatusUnauthorized},
		{"admin", password + "x", http.StatusUnauthorized},
		{"root", password, http.StatusUnauthorized},
		{"admin", password, http.StatusOK},
	} {
		code, body, err := get("/api/overview", c.user, c.password)
		if err != nil || code != c.want {
			t.Errorf("GET /api/overview as %q: %d %q %v, want %d", c.user, code, body, err, c.want)
		}
	}
}
