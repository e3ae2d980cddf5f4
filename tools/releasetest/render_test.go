package releasetest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// jobBinaries maps each job whose main binary takes -check-config to that
// binary (the name under a package's bin/ and src/cmd/).
var jobBinaries = map[string]string{
	"bbs": "bbs", "locket": "locket", "auctioneer": "auctioneer", "rep": "rep",
	"file_server": "file-server", "route_emitter": "route-emitter", "ssh_proxy": "ssh-proxy",
	"hub": "hub",
}

// checkConfigBinaries are the binaries of jobBinaries.
var checkConfigBinaries = func() map[string]bool {
	m := map[string]bool{}
	for _, b := range jobBinaries {
		m[b] = true
	}
	return m
}()

// TestRenderTemplates renders every template of every job of ours in every
// instance group, for the base manifest, every ops-file and the combinations
// of ops-files meant to be applied together, with the bosh CLI's
// templatescompiler (as `bosh create-env` does), then checks bpm.yml, shell
// syntax and, with the repository's binaries, -check-config.
func TestRenderTemplates(t *testing.T) {
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Fatal("the bosh CLI's ERB renderer needs ruby: run ci/dev/ensure-services.sh (or apt-get install ruby)")
	}
	bins := binaries(t)
	renderer := boshrel.NewRenderer()
	jobs, err := boshrel.ReadJobs(repo, renderer.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(scenarios(t), combinationScenarios(t)...) {
		s := s
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			renderScenario(t, s, jobs, renderer, bins)
		})
	}
}

// renderScenario interpolates the base manifest with s's ops-files and
// renders and checks every job of ours in it.
func renderScenario(t *testing.T, s scenario, jobs map[string]*boshrel.Job, renderer *boshrel.Renderer, bins string) {
	t.Helper()
	vstore := varsStore(t)
	b, err := boshrel.Interpolate(boshrel.Interpolation{
		Manifest: baseManifest(), OpsFiles: s.opsFiles, VarsFiles: s.varsFiles,
		VarsStore: vstore, VarErrs: true,
	})
	if err != nil {
		t.Fatalf("interpolating manifests/diego.yml with %s: %v", s.name, err)
	}
	m, err := boshrel.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	rendered := 0
	for _, ig := range m.InstanceGroups {
		for _, ref := range ig.Jobs {
			job, ok := jobs[ref.Name]
			if !ok {
				continue // another release's job
			}
			rendered++
			where := fmt.Sprintf("[%s] instance group %s, job %s", s.name, ig.Name, ref.Name)
			root := filepath.Join(t.TempDir(), "vcap")
			out, err := renderer.Render(job, ig, ref, m, filepath.Join(root, "jobs"))
			if err != nil {
				t.Errorf("%s: rendering: %v", where, err)
				continue
			}
			checkRendered(t, where, job, out, root, bins)
		}
	}
	if rendered == 0 {
		t.Errorf("no job of this release (%v) in any instance group", boshrel.Names(jobs))
	}
}

func checkRendered(t *testing.T, where string, job *boshrel.Job, out, root, bins string) {
	t.Helper()
	// paths in rendered files point into the temp root
	if err := relocate(out, root); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	// the job's state directories, as on a VM
	for _, d := range []string{"store", "data", "sys/log", "sys/run"} {
		os.MkdirAll(filepath.Join(root, d, job.Name), 0o755)
	}
	// jobs/<job>/packages/<package>, which the BOSH agent links to the
	// job's compiled packages (the file server serves that directory)
	for _, p := range job.Spec.Packages {
		os.MkdirAll(filepath.Join(out, "packages", p), 0o755)
	}
	// shell templates
	filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if isShell(p, b) {
			if msg, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
				t.Errorf("%s: %s: bash -n: %v\n%s", where, relTo(out, p), err, msg)
			}
			// a script may only run what the job's packages ship (packages of
			// other releases, e.g. bpm's, are their jobs' business)
			for _, m := range pkgRef.FindAllStringSubmatch(string(b), -1) {
				_, ours := os.Stat(filepath.Join(repo, "packages", m[1]))
				if ours == nil && !contains(job.Spec.Packages, m[1]) {
					t.Errorf("%s: %s uses /var/vcap/packages/%s, not a package of the job (%v)", where, relTo(out, p), m[1], job.Spec.Packages)
				}
			}
		}
		return nil
	})
	bpm := filepath.Join(out, "config", "bpm.yml")
	procs, err := readBPM(bpm)
	if err != nil {
		if !os.IsNotExist(err) {
			t.Errorf("%s: config/bpm.yml: %v", where, err)
		}
	}
	for _, p := range procs {
		exe := strings.Replace(p.Executable, root+"/", "/var/vcap/", 1)
		pkg := ""
		if rest, ok := strings.CutPrefix(exe, "/var/vcap/packages/"); ok {
			pkg, _, _ = strings.Cut(rest, "/")
		}
		if pkg == "" || !contains(job.Spec.Packages, pkg) {
			t.Errorf("%s: bpm process %q: executable %s is not under /var/vcap/packages/<one of the job's packages %v>", where, p.Name, exe, job.Spec.Packages)
		} else if _, err := os.Stat(filepath.Join(repo, "packages", pkg, "spec")); err != nil {
			t.Errorf("%s: bpm process %q: package %s has no packages/%s/spec", where, p.Name, pkg, pkg)
		}
		name := filepath.Base(exe)
		if !checkConfigBinaries[name] {
			continue
		}
		args := append(append([]string{}, p.Args...), "-check-config")
		cmd := exec.Command(filepath.Join(bins, name), args...)
		cmd.Dir = out
		for k, v := range p.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %s %s: %v\n%s", where, name, strings.Join(args, " "), err, msg)
		} else {
			t.Logf("%s: %s -check-config: ok", where, name)
		}
	}
	if job.Name == "diego-cli" {
		checkTargets(t, where, out)
	}
	if bin, ok := jobBinaries[job.Name]; ok && !hasProcess(procs, bin) {
		t.Errorf("%s: no bpm process runs /var/vcap/packages/*/bin/%s, so its config was not checked", where, bin)
	}
}

type bpmProcess struct {
	Name       string            `yaml:"name"`
	Executable string            `yaml:"executable"`
	Args       []string          `yaml:"args"`
	Env        map[string]string `yaml:"env"`
}

func readBPM(path string) ([]bpmProcess, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Processes []bpmProcess `yaml:"processes"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parsing: %w\n%s", err, b)
	}
	if len(f.Processes) == 0 {
		return nil, fmt.Errorf("no processes")
	}
	for _, p := range f.Processes {
		if p.Name == "" || p.Executable == "" {
			return nil, fmt.Errorf("process without name or executable: %+v", p)
		}
	}
	return f.Processes, nil
}

func hasProcess(procs []bpmProcess, bin string) bool {
	for _, p := range procs {
		if filepath.Base(p.Executable) == bin {
			return true
		}
	}
	return false
}

var vcap = regexp.MustCompile(`/var/vcap/`)

var pkgRef = regexp.MustCompile(`/var/vcap/packages/([A-Za-z0-9_.-]+)`)

// relocate rewrites /var/vcap/ in the rendered JSON and YAML files to root/,
// so that the configs' certificate, key and directory paths point at the
// rendered files.
func relocate(dir, root string) error {
	return filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		ext := filepath.Ext(p)
		if ext != ".json" && ext != ".yml" && ext != ".yaml" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, vcap.ReplaceAll(b, []byte(root+"/")), info.Mode())
	})
}

func isShell(path string, b []byte) bool {
	if strings.HasSuffix(path, ".sh") {
		return true
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.HasPrefix(first, "#!") && (strings.Contains(first, "bash") || strings.HasSuffix(first, "/sh"))
}

// checkTargets loads every rendered JSON under config/ of the diego-cli job
// as a target file (src/target's fields): the BBS URL is set and the
// certificate files it names load.
func checkTargets(t *testing.T, where, out string) {
	files, _ := filepath.Glob(filepath.Join(out, "config", "*.json"))
	if len(files) == 0 {
		t.Errorf("%s: no config/*.json target file rendered", where)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var tf struct {
			BBSURL        string `json:"bbs_url"`
			LocketAddress string `json:"locket_address"`
			AuctioneerURL string `json:"auctioneer_url"`
			CACert        string `json:"ca_cert"`
			ClientCert    string `json:"client_cert"`
			ClientKey     string `json:"client_key"`
			LogDir        string `json:"log_dir"`
			// `diego ssh` and the file server
			SSHProxyAddress          string `json:"ssh_proxy_address"`
			SSHProxyHostFingerprint  string `json:"ssh_proxy_host_fingerprint"`
			SSHProxyDiegoCredentials string `json:"ssh_proxy_diego_credentials"`
			FileServerURL            string `json:"file_server_url"`
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tf); err != nil {
			t.Errorf("%s: %s is not a diego target file: %v", where, relTo(out, f), err)
			continue
		}
		if tf.BBSURL == "" {
			t.Errorf("%s: %s: no bbs_url", where, relTo(out, f))
		}
		abs := func(p string) string {
			if p != "" && !filepath.IsAbs(p) {
				return filepath.Join(filepath.Dir(f), p)
			}
			return p
		}
		if strings.HasPrefix(tf.BBSURL, "https://") || tf.CACert != "" {
			if _, err := tls.LoadX509KeyPair(abs(tf.ClientCert), abs(tf.ClientKey)); err != nil {
				t.Errorf("%s: %s: client_cert/client_key: %v", where, relTo(out, f), err)
			}
			ca, err := os.ReadFile(abs(tf.CACert))
			if err != nil || !x509.NewCertPool().AppendCertsFromPEM(ca) {
				t.Errorf("%s: %s: ca_cert %s: not a PEM CA (%v)", where, relTo(out, f), tf.CACert, err)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func relTo(base, p string) string {
	r, err := filepath.Rel(base, p)
	if err != nil {
		return p
	}
	return r
}

var _ = sort.Strings
