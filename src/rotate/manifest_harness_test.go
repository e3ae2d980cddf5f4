package rotate_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/rotate"
)

// The manifest-mode harness: a fake bosh CLI (this test binary, re-executed)
// and a fake director state the BBSs read their key ring from.

// The stand-in bosh CLI is this test binary, run with fakeBoshEnv set to a
// state directory: TestMain hands it the command line.
const fakeBoshEnv = "DIEGO_ROTATE_FAKE_BOSH_STATE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(fakeBoshEnv); dir != "" {
		os.Exit(fakeBosh(dir, os.Args[1:]))
	}
	code := m.Run()
	if diegoDir != "" {
		os.RemoveAll(diegoDir)
	}
	os.Exit(code)
}

var (
	diegoOnce sync.Once
	diegoDir  string
	diegoErr  error
)

// diegoCLI is the diego CLI built from this checkout, once per test binary.
// The tests run the command as a process: importing src/cli here would make
// src/rotate and src/cli import each other.
func diegoCLI(t testing.TB) string {
	t.Helper()
	diegoOnce.Do(func() {
		if diegoDir, diegoErr = os.MkdirTemp("", "rotate-diego-"); diegoErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(diegoDir, "diego"), "github.com/diego-go/diego/src/cmd/diego").CombinedOutput()
		if err != nil {
			diegoErr = fmt.Errorf("building diego: %w\n%s", err, out)
		}
	})
	if diegoErr != nil {
		t.Fatal(diegoErr)
	}
	return filepath.Join(diegoDir, "diego")
}

// runDiego runs the diego CLI with args and returns its output and exit code.
func runDiego(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(diegoCLI(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running diego: %v", err)
	}
	return out.String(), errOut.String(), code
}

// runDiegoResult runs diego, which must exit 0 and print its JSON summary on
// stdout, decodes that summary into res and returns stdout and stderr.
func runDiegoResult(t testing.TB, res any, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, code := runDiego(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), res); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	return out, errOut
}

// fakeBosh is a bosh CLI stand-in for `deploy` and `interpolate --path`,
// knowing only the BBS key ring: the base manifest's active_key_label and
// encryption_keys, ops-files appending a key (encryption_keys/-), removing
// one (encryption_keys/label=X) or replacing active_key_label, and -v vars.
// Variables without a -v value are generated once and kept in
// creds.json, as the director's config server does. It logs its argv to
// argv.jsonl. On deploy it POSTs the resulting ring to the test's "director"
// (control-url), which restarts the BBS with it. fail-before / fail-after
// hold a count of deploys to fail before / after that.
func fakeBosh(dir string, args []string) int {
	line, _ := json.Marshal(args)
	f, err := os.OpenFile(filepath.Join(dir, "argv.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	f.Write(append(line, '\n'))
	f.Close()

	var sub, manifest, path string
	var ops []string
	vars := map[string]string{}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-n" || a == "--dry-run":
		case a == "-d" || a == "-o" || a == "-l" || a == "-v" || a == "--path":
			if i+1 >= len(args) {
				fmt.Fprintf(os.Stderr, "flag %s needs a value\n", a)
				return 1
			}
			v := args[i+1]
			i++
			switch a {
			case "-o":
				ops = append(ops, v)
			case "-v":
				k, val, _ := strings.Cut(v, "=")
				vars[k] = val
			case "--path":
				path = v
			case "-l":
				fmt.Fprintln(os.Stderr, "fake bosh: -l not supported")
				return 1
			}
		case sub == "":
			sub = a
		case manifest == "":
			manifest = a
		default:
			fmt.Fprintf(os.Stderr, "unexpected argument %q\n", a)
			return 1
		}
	}
	if sub == "manifest" {
		b, err := os.ReadFile(filepath.Join(dir, "deployed.yml"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "Deployment 'diego' has no manifest")
			return 1
		}
		os.Stdout.Write(b)
		return 0
	}
	if sub != "deploy" && sub != "interpolate" {
		fmt.Fprintf(os.Stderr, "fake bosh: unsupported command %q\n", sub)
		return 1
	}
	labels, pass, active, err := fakeRing(manifest, ops)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	resolve := func(s string) (string, bool) {
		name, ok := strings.CutPrefix(s, "((")
		if !ok {
			return s, true
		}
		name = strings.TrimSuffix(name, "))")
		v, ok := vars[name]
		return v, ok
	}
	active, _ = resolve(active)
	for i, l := range labels {
		labels[i], _ = resolve(l)
	}
	text, err := os.ReadFile(manifest) // the "interpolated" manifest: the files, concatenated
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, o := range ops {
		b, _ := os.ReadFile(o)
		text = append(text, b...)
	}
	if sub == "interpolate" {
		if path == "" {
			os.Stdout.Write(text)
			return 0
		}
		if strings.HasSuffix(path, "/active_key_label") {
			fmt.Println(active)
			return 0
		}
		if rest, ok := strings.CutPrefix(path, rotate.BBSPropertiesPath+"/encryption_keys/"); ok {
			if n, err := strconv.Atoi(strings.TrimSuffix(rest, "/label")); err == nil && n < len(labels) {
				fmt.Println(labels[n])
				return 0
			}
		}
		fmt.Fprintf(os.Stderr, "Expected to find a map key or array index for path %q\n", path)
		return 1
	}
	if countdown(filepath.Join(dir, "fail-before")) {
		fmt.Fprintln(os.Stderr, "Error: Action Failed get_task: Task 42 result: the director is having a bad day")
		return 1
	}
	os.WriteFile(filepath.Join(dir, "deployed.yml"), text, 0o644)
	creds := map[string]string{}
	if b, err := os.ReadFile(filepath.Join(dir, "creds.json")); err == nil {
		json.Unmarshal(b, &creds)
	}
	keys := map[string]string{}
	for i, l := range labels {
		p, ok := resolve(pass[i])
		if !ok {
			name := strings.TrimSuffix(strings.TrimPrefix(pass[i], "(("), "))")
			if creds[name] == "" {
				b := make([]byte, 30)
				rand.Read(b)
				creds[name] = base64.RawURLEncoding.EncodeToString(b)
			}
			p = creds[name]
		}
		keys[l] = p
	}
	b, _ := json.Marshal(creds)
	os.WriteFile(filepath.Join(dir, "creds.json"), b, 0o600)
	fmt.Printf("Task 42 | updating instance api/0 with keys %v, active %s\n", labels, active)
	url, err := os.ReadFile(filepath.Join(dir, "control-url"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	body, _ := json.Marshal(map[string]any{"keys": keys, "active": active})
	resp, err := http.Post(string(url), "application/json", bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "Error: updating api/0: %s\n", msg)
		return 1
	}
	if countdown(filepath.Join(dir, "fail-after")) {
		fmt.Fprintln(os.Stderr, "Error: updating instance scheduler/0: timed out")
		return 1
	}
	fmt.Println("Task 42 done")
	return 0
}

// countdown: the file holds a count; while positive, decrement it and say so.
func countdown(file string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if n <= 0 {
		return false
	}
	os.WriteFile(file, []byte(strconv.Itoa(n-1)), 0o644)
	return true
}

// fakeRing reads the key ring lines of the base manifest and ops-files.
func fakeRing(manifest string, ops []string) (labels, pass []string, active string, err error) {
	field := func(line, name string) (string, bool) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":")
		return strings.Trim(strings.TrimSpace(v), `"`), ok
	}
	readKeys := func(file string, only bool) error {
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		text := string(b)
		sc := bufio.NewScanner(strings.NewReader(text))
		var lastPath string
		for sc.Scan() {
			l := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "- ")
			if p, ok := field(l, "path"); ok {
				lastPath = p
				if rest, ok := strings.CutPrefix(p, rotate.BBSPropertiesPath+"/encryption_keys/label="); ok {
					i := slices.Index(labels, rest)
					if i < 0 {
						return fmt.Errorf("%s: no key %q to remove", file, rest)
					}
					labels, pass = slices.Delete(labels, i, i+1), slices.Delete(pass, i, i+1)
				}
				continue
			}
			if only && !strings.HasSuffix(lastPath, "encryption_keys/-") && !strings.HasSuffix(lastPath, "/active_key_label") {
				continue
			}
			if v, ok := field(l, "label"); ok {
				labels = append(labels, v)
			} else if v, ok := field(l, "passphrase"); ok {
				pass = append(pass, v)
			} else if v, ok := field(l, "active_key_label"); ok {
				active = v
			} else if v, ok := field(l, "value"); ok && strings.HasSuffix(lastPath, "/active_key_label") {
				active = v
			}
		}
		return nil
	}
	if err := readKeys(manifest, false); err != nil {
		return nil, nil, "", err
	}
	for _, o := range ops {
		if err := readKeys(o, true); err != nil {
			return nil, nil, "", err
		}
	}
	if len(labels) != len(pass) {
		return nil, nil, "", fmt.Errorf("fake bosh: %d labels, %d passphrases", len(labels), len(pass))
	}
	return labels, pass, active, nil
}

const baseManifest = `name: diego
instance_groups:
- name: api
  jobs:
  - name: bbs
    properties:
      diego:
        bbs:
          active_key_label: k1
          encryption_keys:
          - label: k1
            passphrase: ((diego_bbs_encryption_key_passphrase))
variables: []
`

// director is the test's side of the stand-in: it restarts the BBS with the
// key ring a deploy implies (unless pickup is false: the deploy "succeeds"
// without reaching the BBS).
type director struct {
	t      *testing.T
	e      *env
	mu     sync.Mutex
	b      *bbsProc
	pickup bool
	state  string
	cfg    rotate.ManifestConfig
}

func (d *director) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ring struct {
		Keys   map[string]string `json:"keys"`
		Active string            `json:"active"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ring); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.pickup {
		return
	}
	cfg := d.b.cfg
	cfg.EncryptionKeys, cfg.ActiveKeyLabel = ring.Keys, ring.Active
	d.b.stop()
	nb, err := d.e.tryStart(cfg)
	if err != nil {
		http.Error(w, "bbs failed to start: "+err.Error(), http.StatusInternalServerError)
		return
	}
	*d.b = *nb
}

// newManifestEnv starts a BBS whose keys are in its config (as the bbs job
// renders them from the manifest) and the stand-in bosh CLI deploying it.
func newManifestEnv(t *testing.T) *director {
	e := newEnv(t, "sqlite", testdb.SQLite(t), false) // Vault holds k1=first-passphrase: populate seals with it
	e.populate(20, 50, 10)
	cfg := e.config("")
	cfg.EncryptionKeySource = config.KeySource{Type: config.KeySourceConfig}
	cfg.EncryptionKeys, cfg.ActiveKeyLabel = map[string]string{"k1": "first-passphrase"}, "k1"
	b, err := e.tryStart(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := &director{t: t, e: e, b: b, pickup: true, state: t.TempDir()}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	os.WriteFile(filepath.Join(d.state, "control-url"), []byte(srv.URL), 0o644)
	manifest := filepath.Join(t.TempDir(), "diego.yml")
	os.WriteFile(manifest, []byte(baseManifest), 0o644)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeBoshEnv, d.state)
	hc, err := rotate.AdminHTTPClient(e.certs.CACert, e.certs.AdminCert, e.certs.AdminKey, 0)
	if err != nil {
		t.Fatal(err)
	}
	d.cfg = rotate.ManifestConfig{BoshCLI: self, Deployment: "diego", Manifest: manifest,
		Vars: []string{"diego_bbs_encryption_key_passphrase=first-passphrase"}, ReleaseOpsDir: "../../ops-files",
		OpsDir: t.TempDir(), BBSAdminURLs: []string{b.URL}, HTTPClient: hc, Progress: tlog{t},
		PollInterval: 20 * time.Millisecond, VerifyTimeout: 10 * time.Second}
	return d
}

// argv is every command line the stand-in ran; deploys only with deploys.
func (d *director) argv(deploys bool) [][]string {
	b, _ := os.ReadFile(filepath.Join(d.state, "argv.jsonl"))
	var all [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var a []string
		if json.Unmarshal([]byte(l), &a) == nil && (!deploys || slices.Contains(a, "deploy")) {
			all = append(all, a)
		}
	}
	return all
}

func (d *director) ring() (string, []string, map[string]int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.b.status()
}

// checkManifestConverged: the BBS seals with want, holds want and the
// manifest's k1, and no row is under another key; every record reads.
func (d *director) checkConverged(want string, labels ...string) {
	d.t.Helper()
	active, got, per := d.ring()
	slices.Sort(got)
	slices.Sort(labels)
	if active != want || !slices.Equal(got, labels) {
		d.t.Fatalf("BBS: active %q keys %v, want %q and %v", active, got, want, labels)
	}
	for l, n := range per {
		if l != want && n > 0 {
			d.t.Fatalf("%d rows under %q (counts %v)", n, l, per)
		}
	}
	if per[want] == 0 {
		d.t.Fatalf("no row under %q (counts %v)", want, per)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if ds, as, ts := readAll(d.t, d.b); ds < 20 || as < 50 || ts < 10 {
		d.t.Fatalf("read back %d desired, %d actual, %d tasks", ds, as, ts)
	}
}
