package releasetest

import (
	"crypto/x509"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepLoggregatorProperties: the reference's loggregator properties
// (use_v2_api, v2_api_port, ca_cert, cert, key) and
// diego.executor.container_metrics_report_interval render the rep's
// loggregator block, pointing at the local agent on 127.0.0.1, with the
// certificates in files, and the config passes -check-config; without
// use_v2_api there is no block; use_v2_api without a certificate fails to
// render.
func TestRepLoggregatorProperties(t *testing.T) {
	const props = "/instance_groups/name=diego-cell/jobs/name=rep/properties"
	ca := selfSignedCA(t)
	type block struct {
		AgentAddress    string `json:"agent_address"`
		CAFile          string `json:"ca_file"`
		CertFile        string `json:"cert_file"`
		KeyFile         string `json:"key_file"`
		MetricsInterval string `json:"metrics_interval"`
	}
	render := func(t *testing.T, ops ...op) (*block, string) {
		out, root, err := renderJob(t, "diego-cell", "rep", []string{opsFileOf(t, ops...)}, nil)
		if err != nil {
			t.Fatalf("rendering rep: %v", err)
		}
		if err := relocate(out, root); err != nil {
			t.Fatal(err)
		}
		cfgPath := filepath.Join(out, "config", "rep.json")
		if msg, err := exec.Command(filepath.Join(binaries(t), "rep"), "-config", cfgPath, "-check-config").CombinedOutput(); err != nil {
			t.Errorf("rep -check-config: %v\n%s\n%s", err, msg, readFile(t, cfgPath))
		}
		var c struct {
			Loggregator *block `json:"loggregator"`
		}
		if err := json.Unmarshal([]byte(readFile(t, cfgPath)), &c); err != nil {
			t.Fatalf("config/rep.json: %v", err)
		}
		return c.Loggregator, filepath.Join(root, "jobs", "rep", "config", "certs", "loggregator")
	}

	t.Run("v2", func(t *testing.T) {
		t.Parallel()
		b, certs := render(t,
			replace(props+"/loggregator?", map[string]any{
				"use_v2_api": true, "v2_api_port": 3459, "ca_cert": ca,
				"cert": "((rep_client.certificate))", "key": "((rep_client.private_key))",
			}),
			replace(props+"/diego/executor/container_metrics_report_interval?", "30s"))
		want := block{AgentAddress: "127.0.0.1:3459", CAFile: filepath.Join(certs, "ca.crt"),
			CertFile: filepath.Join(certs, "client.crt"), KeyFile: filepath.Join(certs, "client.key"), MetricsInterval: "30s"}
		if b == nil || *b != want {
			t.Fatalf("loggregator = %+v, want %+v", b, want)
		}
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(readFile(t, b.CAFile))) {
			t.Errorf("%s is not the CA", b.CAFile)
		}
		if !strings.Contains(readFile(t, b.KeyFile), "PRIVATE KEY") {
			t.Errorf("%s is not the key", b.KeyFile)
		}
	})
	t.Run("agent elsewhere", func(t *testing.T) {
		t.Parallel()
		b, _ := render(t,
			replace(props+"/loggregator?", map[string]any{
				"use_v2_api": true, "ca_cert": ca, "cert": "((rep_client.certificate))", "key": "((rep_client.private_key))",
			}),
			replace(props+"/diego/rep/loggregator_agent_address?", "10.0.16.5:3458"))
		if b == nil || b.AgentAddress != "10.0.16.5:3458" || b.MetricsInterval != "15s" {
			t.Fatalf("loggregator = %+v, want agent_address 10.0.16.5:3458 and the 15s default", b)
		}
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		if b, _ := render(t, replace(props+"/loggregator?", map[string]any{"use_v2_api": false})); b != nil {
			t.Errorf("loggregator = %+v without use_v2_api", b)
		}
	})
	t.Run("no cert", func(t *testing.T) {
		t.Parallel()
		_, _, err := renderJob(t, "diego-cell", "rep", []string{opsFileOf(t,
			replace(props+"/loggregator?", map[string]any{"use_v2_api": true, "ca_cert": ca}))}, nil)
		if err == nil || !strings.Contains(err.Error(), "loggregator.use_v2_api is true: set loggregator.cert") {
			t.Errorf("rendering with use_v2_api and no cert: %v", err)
		}
	})
}
