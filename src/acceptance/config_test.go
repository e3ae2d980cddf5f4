package acceptance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	in := `{"bbs_url":"https://10.0.0.5:8889","ca_cert":"certs/ca.crt","client_cert":"/abs/client.crt",
		"client_key":"certs/client.key","rootfs":"preloaded:cflinuxfs4","placement_tags":["gpu"],
		"feature_groups":["tasks","lrps","rep_kill"],"target_file":"target.json"}`
	c, err := ParseConfig(strings.NewReader(in), "/etc/acc")
	if err != nil {
		t.Fatal(err)
	}
	if c.CACert != "/etc/acc/certs/ca.crt" || c.ClientCert != "/abs/client.crt" || c.TargetFile != "/etc/acc/target.json" {
		t.Errorf("paths not resolved against the config's directory: %+v", c)
	}
	if c.AppListen != "127.0.0.1:0" {
		t.Errorf("app_listen default = %q", c.AppListen)
	}
	if !c.Enabled(GroupTasks) || c.Enabled(GroupZones) {
		t.Errorf("Enabled: %v", c.FeatureGroups)
	}
	if len(c.PlacementTags) != 1 || c.PlacementTags[0] != "gpu" {
		t.Errorf("placement_tags = %v", c.PlacementTags)
	}
}

func TestParseConfigAppTgz(t *testing.T) {
	in := `{"bbs_url":"https://b","ca_cert":"/a","client_cert":"/b","client_key":"/c","rootfs":"r",
		"feature_groups":["tasks"],"app_tgz":"app/sample-app.tgz","app_listen":"10.0.0.7:0"}`
	c, err := ParseConfig(strings.NewReader(in), "/var/vcap/jobs/acceptance-tests/config")
	if err != nil {
		t.Fatal(err)
	}
	if c.AppTgz != "/var/vcap/jobs/acceptance-tests/config/app/sample-app.tgz" || c.AppListen != "10.0.0.7:0" {
		t.Errorf("app_tgz %q app_listen %q", c.AppTgz, c.AppListen)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"missing fields", `{"feature_groups":["tasks"]}`, "bbs_url is required"},
		{"no groups", `{"bbs_url":"https://b","ca_cert":"a","client_cert":"b","client_key":"c","rootfs":"r"}`, "feature_groups is empty"},
		{"unknown group", `{"bbs_url":"https://b","ca_cert":"a","client_cert":"b","client_key":"c","rootfs":"r","feature_groups":["chaos"]}`, `unknown feature group "chaos"`},
		{"logs without its ingress", `{"bbs_url":"https://b","ca_cert":"a","client_cert":"b","client_key":"c","rootfs":"r","feature_groups":["logs"],"loggregator_listen":"0.0.0.0:3458"}`, `"logs" needs loggregator_listen, loggregator_ca_cert`},
		{"target group without target", `{"bbs_url":"https://b","ca_cert":"a","client_cert":"b","client_key":"c","rootfs":"r","feature_groups":["evacuation"]}`, `"evacuation" needs target_file`},
		{"bad url", `{"bbs_url":"b:8889","ca_cert":"a","client_cert":"b","client_key":"c","rootfs":"r","feature_groups":["tasks"]}`, "must be an http(s) URL"},
		{"unknown field", `{"bbs":"x"}`, "unknown field"},
		{"ssh without proxy", `{"bbs_url":"https://b","ca_cert":"a","client_cert":"b","client_key":"c","rootfs":"r","feature_groups":["ssh"]}`, `"ssh" needs ssh_proxy_address`},
		{"routes without nats", `{"bbs_url":"https://b","ca_cert":"a","client_cert":"b","client_key":"c","rootfs":"r","feature_groups":["routes"]}`, `"routes" needs nats_url`},
		{"app_url and app_tgz", `{"bbs_url":"https://b","ca_cert":"a","client_cert":"b","client_key":"c","rootfs":"r","feature_groups":["tasks"],"app_url":"http://x/a.tgz","app_tgz":"a.tgz"}`, "app_url and app_tgz are exclusive"},
		{"not json", `{`, "parsing acceptance config"},
		{"negative min_cells", `{"bbs_url":"https://b","ca_cert":"a","client_cert":"b","client_key":"c","rootfs":"r","feature_groups":["tasks"],"min_cells":-1}`, "min_cells -1 must not be negative"},
		{"bad ready_timeout", `{"bbs_url":"https://b","ca_cert":"a","client_cert":"b","client_key":"c","rootfs":"r","feature_groups":["tasks"],"ready_timeout":"soon"}`, `ready_timeout "soon" must be a positive duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(strings.NewReader(tc.in), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadTargetAndConfigFromTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target.json")
	js := `{"bbs_url":"https://127.0.0.1:8889","locket_address":"127.0.0.1:8891","ca_cert":"certs/ca.crt",
		"client_cert":"/c/client.crt","client_key":"/c/client.key","log_dir":"logs","rootfs":"preloaded:cflinuxfs4",
		"backend":"process","nats_url":"nats://127.0.0.1:8893","ssh_proxy_address":"127.0.0.1:8895","ssh_proxy_diego_credentials":"pw","file_server_url":"http://127.0.0.1:8894","pids":{"bbs":10,"locket":11,"auctioneer":12},
		"cells":[{"cell_id":"cell-1","rep_url":"https://127.0.0.1:1801","local_url":"http://127.0.0.1:1800","zone":"z1","pid":13}]}`
	if err := os.WriteFile(path, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	tg, err := LoadTarget(path)
	if err != nil {
		t.Fatal(err)
	}
	if tg.CACert != filepath.Join(dir, "certs/ca.crt") || tg.LogDir != filepath.Join(dir, "logs") {
		t.Errorf("relative paths: %+v", tg)
	}
	if tg.PIDs["bbs"] != 10 || len(tg.Cells) != 1 {
		t.Errorf("pids/cells: %+v", tg)
	}
	if c, ok := tg.Cell("cell-1"); !ok || c.LocalURL != "http://127.0.0.1:1800" || c.PID != 13 || c.Zone != "z1" {
		t.Errorf("Cell(cell-1) = %+v, %v", c, ok)
	}
	cfg, err := ConfigFromTarget(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TargetFile != path || len(cfg.FeatureGroups) != len(AllGroups)-1 || cfg.Enabled(GroupLogs) || cfg.RootFS != "preloaded:cflinuxfs4" || cfg.NATSURL != "nats://127.0.0.1:8893" ||
		cfg.SSHDBundleURL != "http://127.0.0.1:8894/v1/static/diego-sshd/diego-sshd.tgz" || cfg.SSHProxyDiegoCredentials != "pw" {
		t.Errorf("ConfigFromTarget = %+v", cfg)
	}
}
