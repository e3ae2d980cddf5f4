package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

const fixture = "testdata/release"

func generateFixture(t *testing.T, spec string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	sp := filepath.Join(dir, "spec.yml")
	os.WriteFile(sp, []byte(spec), 0o644)
	var stdout, stderr bytes.Buffer
	code := run([]string{"generate", "-f", sp, "--repo", fixture}, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func TestValidSpecOnFixture(t *testing.T) {
	out, errOut, code := generateFixture(t, "packs: [core]\n")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "name: diego") || !strings.Contains(errOut, "bosh -d diego deploy manifests/diego.yml") {
		t.Fatalf("unexpected output:\n%s\n%s", out, errOut)
	}
}

func TestValidationErrors(t *testing.T) {
	for _, c := range []struct {
		ops  string
		want []string
	}{
		{"unknown-property", []string{"instance group web, job web: unknown property web.prot"}},
		{"missing-required", []string{"instance group web, job web: missing required property web.name"}},
		{"wrong-type", []string{
			"instance group web, job web: wrong type web.port (string, the spec's default is a number)",
			"instance group web, job web: wrong type web.tags (hash, the spec's default is a list)",
		}},
	} {
		t.Run(c.ops, func(t *testing.T) {
			_, errOut, code := generateFixture(t, "ops_files: [ops-files/"+c.ops+".yml]\n")
			if code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if n := strings.Count(errOut, "invalid manifest:"); n != len(c.want) {
				t.Errorf("%d problems, want %d:\n%s", n, len(c.want), errOut)
			}
		})
	}
	t.Run("other-release", func(t *testing.T) {
		_, errOut, code := generateFixture(t, "ops_files: [ops-files/other-release.yml]\n")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
}

func TestSpecErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"databse: {}\n":                               "field databse not found",
		"database: {type: oracle}\n":                  "database.type must be postgres, mysql or external",
		"database: {type: external, driver: mysql}\n": "database.host is required",
		"packs: [core, networking]\n":                 `unknown pack "networking"`,
		"keys: {labels: [a, a]}\n":                    `key label "a" appears twice`,
		"keys: {labels: ['a:b']}\n":                   `key label "a:b"`,
		"keys: {labels: [a], active: b}\n":            `keys.active "b" is not one of keys.labels`,
		"keys: {type: kms}\n":                         "keys.type must be manifest or vault",
		"deployment: Diego Prod\n":                    `deployment "Diego Prod"`,
		"addons: [nope]\n":                            `unknown add-on "nope"`,
	} {
		_, errOut, code := generateFixture(t, spec)
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("spec %q: exit %d, want 1 and %q in:\n%s", spec, code, want, errOut)
		}
	}
}

// TestExampleSpec generates example.yml against this repository's release:
// no validation problem, and the printed command, run as `bosh int` with
// the real bosh CLI, yields the same manifest.
func TestExampleSpec(t *testing.T) {
	repo, err := boshrel.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	manifest := filepath.Join(dir, "manifest.yml")
	opsOut := filepath.Join(dir, "generated.ops.yml")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"generate", "-f", "example.yml", "-o", manifest, "--ops-out", opsOut, "--repo", repo}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	b, _ := os.ReadFile(manifest)
	var m struct {
		Name           string `yaml:"name"`
		InstanceGroups []struct {
			Name      string   `yaml:"name"`
			Instances int      `yaml:"instances"`
			VMType    string   `yaml:"vm_type"`
			AZs       []string `yaml:"azs"`
			Networks  []struct {
				Name string `yaml:"name"`
			} `yaml:"networks"`
		} `yaml:"instance_groups"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Name != "diego-prod" {
		t.Errorf("name %q", m.Name)
	}
	for _, ig := range m.InstanceGroups {
		if ig.Name == "diego-cell" && (ig.Instances != 5 || ig.VMType != "large") {
			t.Errorf("diego-cell: %d instances of %s, want 5 of large", ig.Instances, ig.VMType)
		}
		if strings.Join(ig.AZs, ",") != "z1,z2,z3" {
			t.Errorf("%s: azs %v", ig.Name, ig.AZs)
		}
		for _, n := range ig.Networks {
			if n.Name != "diego-net" {
				t.Errorf("%s: network %s", ig.Name, n.Name)
			}
		}
	}
	for _, w := range []string{"label: key-2026-11", "label: key-2026-01", "active_key_label: key-2026-11", "((diego_encryption_key_key_2026_11))", "name: diego_encryption_key_key_2026_11"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("manifest lacks %q", w)
		}
	}

	cmdline := stderr.String()
	for _, w := range []string{
		"-o ops-files/addons/enable-syslog-forwarding.yml", "-o ops-files/addons/enable-prometheus-monitoring.yml",
		"-o ops-files/addons/add-clamav.yml", "-o ops-files/scale-cells.yml", "-o ops-files/rename-network-and-deployment.yml",
		"-v deployment_name=diego-prod", "-v diego_cell_instances=5", "-o " + opsOut,
	} {
		if !strings.Contains(cmdline, w) {
			t.Errorf("command lacks %q:\n%s", w, cmdline)
		}
	}

	// the printed command, as bosh int
	i := strings.Index(cmdline, "bosh -d")
	if i < 0 {
		t.Fatalf("no bosh command in:\n%s", cmdline)
	}
	args := strings.Fields(strings.ReplaceAll(cmdline[i:], "\\\n", " "))
	// bosh -d NAME deploy MANIFEST ... -> bosh int MANIFEST ...
	if args[3] != "deploy" {
		t.Fatalf("not a deploy command: %v", args)
	}
	bosh := filepath.Join(repo, "bin", "bosh")
	if _, err := os.Stat(bosh); err != nil {
		out, err := exec.Command("bash", filepath.Join(repo, "ci", "dev", "build-bosh.sh")).CombinedOutput()
		if err != nil {
			t.Fatalf("build-bosh.sh: %v\n%s", err, out)
		}
	}
	intArgs := append([]string{"int"}, args[4:]...)
	for i := range intArgs {
		intArgs[i] = strings.Trim(intArgs[i], "'")
	}
	cmd := exec.Command(bosh, intArgs...)
	cmd.Dir = repo
	want, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bosh %v: %v\n%s", intArgs, err, want)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(b)) {
		t.Errorf("bosh int with the printed arguments differs from the generated manifest\nbosh %s", strings.Join(intArgs, " "))
	}
}
