package concourse

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// render renders a template of jobs/acceptance-tests with ruby
// (testdata/render.rb: p() with the spec's defaults, spec.ip 10.0.16.5).
func render(t *testing.T, root, template string, props map[string]any) (string, error) {
	t.Helper()
	js, err := json.Marshal(map[string]any{"acceptance": props})
	if err != nil {
		t.Fatal(err)
	}
	job := filepath.Join(root, "jobs", "acceptance-tests")
	out, err := exec.Command("ruby", "testdata/render.rb", filepath.Join(job, "spec"),
		filepath.Join(job, "templates", template), string(js)).CombinedOutput()
	return string(out), err
}

var certs = map[string]any{"ca_cert": "CA PEM", "client_cert": "CERT PEM", "client_key": "KEY PEM"}

func with(extra map[string]any) map[string]any {
	m := map[string]any{}
	for k, v := range certs {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// errandConfig is the part of src/acceptance's Config the errand renders
// (the acceptance package's own loader rejects unknown fields; this test
// module cannot import it, so the fields are listed here).
type errandConfig struct {
	BBSURL        string   `json:"bbs_url"`
	CACert        string   `json:"ca_cert"`
	ClientCert    string   `json:"client_cert"`
	ClientKey     string   `json:"client_key"`
	RootFS        string   `json:"rootfs"`
	PlacementTags []string `json:"placement_tags"`
	FeatureGroups []string `json:"feature_groups"`
	AppURL        string   `json:"app_url"`
	AppTgz        string   `json:"app_tgz"`
	AppListen     string   `json:"app_listen"`
	MinCells      int      `json:"min_cells"`
	ReadyTimeout  string   `json:"ready_timeout"`
	// the routes and ssh groups
	NATSURL                  string `json:"nats_url"`
	SSHProxyAddress          string `json:"ssh_proxy_address"`
	SSHProxyHostFingerprint  string `json:"ssh_proxy_host_fingerprint"`
	SSHProxyDiegoCredentials string `json:"ssh_proxy_diego_credentials"`
	SSHDBundleURL            string `json:"sshd_bundle_url"`
	// the logs group's ingress server
	LoggregatorListen string `json:"loggregator_listen"`
	LoggregatorCACert string `json:"loggregator_ca_cert"`
	LoggregatorCert   string `json:"loggregator_cert"`
	LoggregatorKey    string `json:"loggregator_key"`
}

func TestErrandConfig(t *testing.T) {
	root := repoRoot(t)
	out, err := render(t, root, "acceptance.json.erb", with(nil))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var c errandConfig
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if c.BBSURL != "https://bbs.service.cf.internal:8889" || c.RootFS != "preloaded:cflinuxfs4" ||
		c.CACert != "/var/vcap/jobs/acceptance-tests/config/certs/ca.crt" ||
		c.AppTgz != "/var/vcap/packages/acceptance-tests/sample-app.tgz" || c.AppListen != "10.0.16.5:0" || c.AppURL != "" ||
		c.MinCells != 1 || c.ReadyTimeout != "2m" {
		t.Errorf("defaults: %+v", c)
	}
	if want := []string{"tasks", "lrps", "crashes", "placement", "zones", "bad_requests"}; !slices.Equal(c.FeatureGroups, want) {
		t.Errorf("feature_groups %v, want %v", c.FeatureGroups, want)
	}

	out, err = render(t, root, "acceptance.json.erb", with(map[string]any{
		"app_url": "http://blobs/app.tgz", "bbs": map[string]any{"api_location": "10.0.0.5:8889"},
		"feature_groups": []string{"tasks"}, "placement_tags": []string{"gpu"},
	}))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c = errandConfig{}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if c.AppURL != "http://blobs/app.tgz" || c.AppTgz != "" || c.AppListen != "" || c.BBSURL != "https://10.0.0.5:8889" ||
		!slices.Equal(c.PlacementTags, []string{"gpu"}) {
		t.Errorf("app_url config: %+v", c)
	}

	if out, err := render(t, root, "acceptance.json.erb", with(map[string]any{"feature_groups": []string{"tasks", "rep_kill"}})); err == nil ||
		!strings.Contains(out, "rep_kill need a diego up target file") {
		t.Errorf("rep_kill accepted: %v\n%s", err, out)
	}
	if out, err := render(t, root, "acceptance.json.erb", with(map[string]any{"feature_groups": []string{"cloud-foundry"}})); err == nil ||
		!strings.Contains(out, "cloud-foundry builds its app with the Go toolchain") {
		t.Errorf("cloud-foundry accepted: %v\n%s", err, out)
	}
	// routes and ssh: their fields are rendered, and the groups refuse to render without them
	out, err = render(t, root, "acceptance.json.erb", with(map[string]any{
		"feature_groups": []string{"routes", "ssh"}, "nats_url": "nats://nats:pw@10.245.0.1:4222",
		"ssh_proxy":       map[string]any{"address": "ssh-proxy:2222", "diego_credentials": "secret", "host_fingerprint": "SHA256:abc"},
		"sshd_bundle_url": "http://file-server:8080/v1/static/diego-sshd/diego-sshd.tgz",
	}))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c = errandConfig{}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if c.NATSURL != "nats://nats:pw@10.245.0.1:4222" || c.SSHProxyAddress != "ssh-proxy:2222" || c.SSHProxyDiegoCredentials != "secret" ||
		c.SSHProxyHostFingerprint != "SHA256:abc" || c.SSHDBundleURL != "http://file-server:8080/v1/static/diego-sshd/diego-sshd.tgz" {
		t.Errorf("routes and ssh config: %+v", c)
	}
	if out, err := render(t, root, "acceptance.json.erb", with(map[string]any{"feature_groups": []string{"routes"}})); err == nil ||
		!strings.Contains(out, "routes needs acceptance.nats_url") {
		t.Errorf("routes without nats_url accepted: %v\n%s", err, out)
	}
	if out, err := render(t, root, "acceptance.json.erb", with(map[string]any{"feature_groups": []string{"ssh"}, "nats_url": "nats://x:4222"})); err == nil ||
		!strings.Contains(out, "ssh needs acceptance.ssh_proxy.address") {
		t.Errorf("ssh without the proxy accepted: %v\n%s", err, out)
	}
	out, err = render(t, root, "acceptance.json.erb", with(map[string]any{
		"feature_groups": []string{"logs"},
		"loggregator":    map[string]any{"ca_cert": "LCA", "cert": "LCERT", "key": "LKEY", "listen_port": 3459},
	}))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c = errandConfig{}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if c.LoggregatorListen != "10.0.16.5:3459" || c.LoggregatorCACert != "/var/vcap/jobs/acceptance-tests/config/certs/loggregator/ca.crt" ||
		c.LoggregatorCert != "/var/vcap/jobs/acceptance-tests/config/certs/loggregator/server.crt" ||
		c.LoggregatorKey != "/var/vcap/jobs/acceptance-tests/config/certs/loggregator/server.key" {
		t.Errorf("logs config: %+v", c)
	}
	if out, err := render(t, root, "acceptance.json.erb", with(map[string]any{"feature_groups": []string{"logs"}})); err == nil ||
		!strings.Contains(out, "logs needs acceptance.loggregator.ca_cert") {
		t.Errorf("logs without certificates accepted: %v\n%s", err, out)
	}
	if out, err := render(t, root, "ca.crt.erb", map[string]any{}); err == nil || !strings.Contains(out, "missing property acceptance.ca_cert") {
		t.Errorf("no certificates accepted: %v\n%s", err, out)
	}
}

func TestErrandRunScript(t *testing.T) {
	root := repoRoot(t)
	for _, props := range []map[string]any{with(nil), with(map[string]any{"run": "TestTasks|TestLRPs", "timeout": "45m"})} {
		out, err := render(t, root, "run.erb", props)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		path := filepath.Join(t.TempDir(), "run")
		if err := os.WriteFile(path, []byte(out), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range [][]string{{"bash", "-n", path}, {"shellcheck", path}} {
			if b, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%s\n%s", strings.Join(cmd, " "), err, b, out)
			}
		}
		if !strings.Contains(out, "acceptance.test\" \"${args[@]}\"") || !strings.Contains(out, "-test.timeout '"+map[bool]string{true: "45m", false: "30m"}[props["timeout"] != nil]+"'") {
			t.Errorf("run script:\n%s", out)
		}
	}
	if out, err := render(t, root, "run.erb", with(map[string]any{"timeout": "30m; rm -rf /"})); err == nil {
		t.Errorf("a bad timeout renders:\n%s", out)
	}
	for _, tmpl := range []string{"ca.crt.erb", "client.crt.erb", "client.key.erb"} {
		if out, err := render(t, root, tmpl, with(nil)); err != nil || !strings.Contains(out, "PEM") {
			t.Errorf("%s: %v %q", tmpl, err, out)
		}
	}
}
