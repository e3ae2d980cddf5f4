package rotate_test

import (
	"bufio"
	"bytes"
	"context"
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

	"code.cloudfoundry.org/bbs"

	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/cli"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/rotate"
)

// The stand-in bosh CLI is this test binary, run with fakeBoshEnv set to a
// state directory: TestMain hands it the command line.
const fakeBoshEnv = "DIEGO_ROTATE_FAKE_BOSH_STATE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(fakeBoshEnv); dir != "" {
		os.Exit(fakeBosh(dir, os.Args[1:]))
	}
	os.Exit(m.Run())
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

func TestManifestRotation(t *testing.T) {
	d := newManifestEnv(t)
	cfg := d.cfg
	cfg.NewLabel = "k2"

	// writers keep desiring tasks through the two deploys (BBS restarts)
	client, err := bbs.NewClient(d.b.URL, d.e.certs.CACert, d.e.certs.ClientCert, d.e.certs.ClientKey, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var ackMu sync.Mutex
	var acked []string
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				g := fmt.Sprintf("during-%d-%d", w, i)
				if err := client.DesireTask(logger, "", g, "during", taskDef(secret)); err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				ackMu.Lock()
				acked = append(acked, g)
				ackMu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	res, err := rotate.RunManifest(context.Background(), cfg)
	stop()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.ActiveLabel != "k2" || res.Resumed || len(res.Deployed) != 2 || !slices.Equal(res.OldLabels, []string{"k1"}) {
		t.Fatalf("result %+v", res)
	}
	deploys := d.argv(true)
	if len(deploys) != 2 {
		t.Fatalf("deploys: %q", deploys)
	}
	d1, d2 := strings.Join(deploys[0], " "), strings.Join(deploys[1], " ")
	keyFile := filepath.Join(cfg.OpsDir, "add-bbs-encryption-key-k2.yml")
	base := "-n -d diego deploy " + cfg.Manifest
	if !strings.HasPrefix(d1, base+" -o "+keyFile+" -v diego_bbs_encryption_key_passphrase=first-passphrase") || strings.Contains(d1, "set-bbs-active-key") {
		t.Errorf("deploy 1: %s", d1)
	}
	if !strings.HasPrefix(d2, base+" -o "+keyFile+" -o ../../ops-files/set-bbs-active-key.yml") || !strings.HasSuffix(d2, "-v diego_bbs_active_key_label=k2") {
		t.Errorf("deploy 2: %s", d2)
	}
	d.checkConverged("k2", "k1", "k2")
	d.mu.Lock()
	for _, g := range acked {
		if _, err := d.b.Client.TaskByGuid(logger, "", g); err != nil {
			t.Errorf("acknowledged task %s: %v", g, err)
		}
	}
	d.mu.Unlock()
	if len(acked) == 0 {
		t.Error("no write was acknowledged during the rotation")
	}
	t.Logf("%d writes acknowledged during the rotation", len(acked))

	// run again: nothing to do, no deploy
	res, err = rotate.RunManifest(context.Background(), d.cfg)
	if err != nil || !res.Resumed || res.ActiveLabel != "k2" || len(res.Deployed) != 0 {
		t.Fatalf("re-run: %+v %v", res, err)
	}

	// a configuration dropping k1 that is not deployed yet: the BBSs hold k1
	// as they would hold an unfinished rotation's key; it is not mistaken
	// for one
	keep := []string{keyFile, "../../ops-files/set-bbs-active-key.yml"}
	cfgDrop := d.cfg
	cfgDrop.OpsFiles = append(slices.Clone(keep), res.DropOpsFile)
	cfgDrop.Vars = append(slices.Clone(d.cfg.Vars), "diego_bbs_active_key_label=k2")
	if _, err := rotate.RunManifest(context.Background(), cfgDrop); err == nil || !strings.Contains(err.Error(), `if the deployment's configuration drops "k1", deploy it first`) {
		t.Fatalf("undeployed removal of k1: %v", err)
	}

	// the deployment's configuration now has the key; a second rotation
	// gets its own passphrase variable
	cfg2 := cfgDrop
	cfg2.OpsFiles = keep
	cfg2.OpsDir = t.TempDir()
	res2, err := rotate.RunManifest(context.Background(), cfg2)
	if err != nil {
		t.Fatal(err)
	}
	k3 := res2.ActiveLabel
	if k3 == "k2" || res2.Resumed || len(res2.Deployed) != 2 || !slices.Equal(res2.OldLabels, []string{"k1", "k2"}) {
		t.Fatalf("second rotation: %+v", res2)
	}
	d.checkConverged(k3, "k1", "k2", k3)
	creds := map[string]string{}
	b, _ := os.ReadFile(filepath.Join(d.state, "creds.json"))
	json.Unmarshal(b, &creds)
	p2, p3 := creds[rotate.PassphraseVariable("k2")], creds[rotate.PassphraseVariable(k3)]
	if p2 == "" || p3 == "" || p2 == p3 {
		t.Fatalf("passphrase variables: %v", creds)
	}
}

func TestManifestRotationDryRun(t *testing.T) {
	d := newManifestEnv(t)
	cfg := d.cfg
	cfg.NewLabel, cfg.DryRun = "k2", true
	var progress bytes.Buffer
	cfg.Progress = &progress
	res, err := rotate.RunManifest(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.argv(true)) != 0 || len(res.Deployed) != 0 || len(res.Plan) != 2 {
		t.Fatalf("dry run deployed: %q, result %+v", d.argv(true), res)
	}
	if !strings.Contains(res.Plan[0], "add-bbs-encryption-key-k2.yml") || strings.Contains(res.Plan[0], "set-bbs-active-key.yml") ||
		!strings.Contains(res.Plan[1], "set-bbs-active-key.yml -v diego_bbs_encryption_key_passphrase=first-passphrase -v diego_bbs_active_key_label=k2") {
		t.Fatalf("plan %q", res.Plan)
	}
	for _, want := range []string{"plan: rotate diego from key \"k1\" to \"k2\"", res.Plan[0], res.Plan[1], rotate.PassphraseVariable("k2"), "dry run: nothing deployed"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	if active, labels, _ := d.ring(); active != "k1" || len(labels) != 1 {
		t.Fatalf("BBS changed: %q %v", active, labels)
	}
}

func TestManifestRotationDeployFails(t *testing.T) {
	d := newManifestEnv(t)
	cfg := d.cfg
	cfg.NewLabel = "k2"
	// deploy 1 fails after updating the BBS (a later instance failed)
	os.WriteFile(filepath.Join(d.state, "fail-after"), []byte("1"), 0o644)
	_, err := rotate.RunManifest(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "step deploy-add-key: bosh deploy failed") || !strings.Contains(err.Error(), "scheduler/0: timed out") {
		t.Fatalf("want a deploy-add-key failure, got %v", err)
	}
	// deploy 2 fails before reaching the BBS
	os.WriteFile(filepath.Join(d.state, "fail-before"), []byte("1"), 0o644)
	res, err := rotate.RunManifest(context.Background(), d.cfg) // no label: it must resume k2
	if err == nil || !strings.Contains(err.Error(), "step deploy-activate: bosh deploy failed") || !strings.Contains(err.Error(), "bad day") {
		t.Fatalf("want a deploy-activate failure, got %v", err)
	}
	if !res.Resumed || res.ActiveLabel != "k2" {
		t.Fatalf("second run did not resume k2: %+v", res)
	}
	res, err = rotate.RunManifest(context.Background(), d.cfg)
	if err != nil || !res.Resumed || len(res.Deployed) != 1 || !strings.Contains(res.Deployed[0], "diego_bbs_active_key_label=k2") {
		t.Fatalf("third run: %+v %v", res, err)
	}
	d.checkConverged("k2", "k1", "k2")
	if n := len(d.argv(true)); n != 3 {
		t.Fatalf("%d deploys, want 3", n)
	}
}

// TestManifestRotationKilled kills the run after every step in turn, then
// runs it again without a label: it resumes (no third key) and converges.
func TestManifestRotationKilled(t *testing.T) {
	killed := errors.New("killed")
	for _, step := range rotate.ManifestSteps {
		t.Run(step.String(), func(t *testing.T) {
			d := newManifestEnv(t)
			cfg := d.cfg
			cfg.NewLabel = "k2"
			cfg.AfterStep = func(s rotate.ManifestStep) error {
				if s == step {
					return killed
				}
				return nil
			}
			if _, err := rotate.RunManifest(context.Background(), cfg); !errors.Is(err, killed) {
				t.Fatalf("want killed, got %v", err)
			}
			d.mu.Lock()
			readAll(t, d.b)
			d.mu.Unlock()
			res, err := rotate.RunManifest(context.Background(), d.cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := "k2"
			if step == rotate.MStepPlan { // nothing was deployed: a new rotation
				want = res.ActiveLabel
			}
			if res.ActiveLabel != want || want == "k1" || res.Resumed != (step != rotate.MStepPlan) {
				t.Fatalf("re-run: %+v, want the unfinished %q", res, want)
			}
			d.checkConverged(want, "k1", want)
			if n := len(d.argv(true)); n > 2 {
				t.Fatalf("%d deploys for one rotation: %q", n, d.argv(true))
			}
		})
	}
}

func TestManifestRotationVerifyFails(t *testing.T) {
	d := newManifestEnv(t)
	d.pickup = false // the deploy "succeeds" but the BBS keeps its keys
	cfg := d.cfg
	cfg.NewLabel = "k2"
	_, err := rotate.RunManifest(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "step verify-add-key") || !strings.Contains(err.Error(), `without the new key "k2"`) {
		t.Fatalf("want a verify-add-key failure, got %v", err)
	}
	if n := len(d.argv(true)); n != 1 {
		t.Fatalf("%d deploys, want 1 (no activation after a failed verification)", n)
	}
	if active, labels, _ := d.ring(); active != "k1" || len(labels) != 1 {
		t.Fatalf("BBS changed: %q %v", active, labels)
	}
}

// TestCLIRotateEncryptionKeyManifest runs the command in manifest mode.
func TestCLIRotateEncryptionKeyManifest(t *testing.T) {
	d := newManifestEnv(t)
	c := d.e.certs
	args := []string{"rotate-encryption-key", "--bbs-admin-url", d.b.URL, "--admin-cert", c.AdminCert, "--admin-key", c.AdminKey,
		"--ca-cert", c.CACert, "--deployment", "diego", "--manifest", d.cfg.Manifest, "--bosh-cli", d.cfg.BoshCLI,
		"-v", d.cfg.Vars[0], "--release-ops-dir", "../../ops-files", "--ops-dir", d.cfg.OpsDir, "--new-key-label", "k2"}
	var out, errOut bytes.Buffer
	if err := cli.Run(context.Background(), append(args, "--dry-run"), &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if len(d.argv(true)) != 0 || !strings.Contains(errOut.String(), "dry run: nothing deployed") {
		t.Fatalf("dry run:\n%s", errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if err := cli.Run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var res rotate.ManifestResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.ActiveLabel != "k2" || len(res.Deployed) != 2 {
		t.Fatalf("summary %q: %+v %v", out.String(), res, err)
	}
	if !strings.Contains(errOut.String(), "step 6/6 reencrypt: done") || !strings.Contains(errOut.String(), "to drop them, deploy once more with -o") {
		t.Fatalf("progress:\n%s", errOut.String())
	}
	d.checkConverged("k2", "k1", "k2")
}

// TestRotateKeyScript runs the pipeline task's script (ci/scripts/rotate-key.sh)
// with the diego CLI built from this checkout and the bosh stand-in.
func TestRotateKeyScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go to build the diego CLI")
	}
	d := newManifestEnv(t)
	diego := filepath.Join(t.TempDir(), "diego")
	if out, err := exec.Command(goBin, "build", "-o", diego, "github.com/diego-go/diego/src/cmd/diego").CombinedOutput(); err != nil {
		t.Fatalf("building diego: %v\n%s", err, out)
	}
	repo, _ := filepath.Abs("../..")
	cert, err := os.ReadFile(d.e.certs.AdminCert)
	if err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) (string, string, error) {
		cmd := exec.Command(bash, filepath.Join(repo, "ci", "scripts", "rotate-key.sh"))
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "REPO_DIR="+repo, "BOSH_CLI="+d.cfg.BoshCLI, "DIEGO_CLI="+diego,
			"DEPLOYMENT_NAME=diego", "MANIFEST="+d.cfg.Manifest, "VARS="+d.cfg.Vars[0], "NEW_KEY_LABEL=k2",
			"BBS_ADMIN_URLS=[\""+d.b.URL+"\"]", "BBS_ADMIN_CERT="+string(cert), "BBS_ADMIN_KEY="+d.e.certs.AdminKey,
			"BBS_ADMIN_CA_CERT="+d.e.certs.CACert, "OPS_DIR="+d.cfg.OpsDir, "VAULT_ADDR=",
			"BOSH_ENVIRONMENT=https://director:25555", "BOSH_CLIENT=admin", "BOSH_CLIENT_SECRET=x")
		cmd.Env = append(cmd.Env, extra...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	out, errOut, err := run("DRY_RUN=true")
	if err != nil || len(d.argv(true)) != 0 || !strings.Contains(errOut, "dry run: nothing deployed") {
		t.Fatalf("dry run: %v, %d deploys\n%s\n%s", err, len(d.argv(true)), out, errOut)
	}
	out, errOut, err = run()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	var res rotate.ManifestResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.ActiveLabel != "k2" || len(res.Deployed) != 2 {
		t.Fatalf("summary %q: %+v %v\n%s", out, res, err, errOut)
	}
	if !strings.Contains(errOut, "rotate-key.sh: done: diego seals with the new key") {
		t.Errorf("stderr:\n%s", errOut)
	}
	d.checkConverged("k2", "k1", "k2")
}
