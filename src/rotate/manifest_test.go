package rotate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"

	"github.com/diego-go/diego/src/rotate"
)

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
	_, errOut, code := runDiego(t, append(args, "--dry-run")...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if len(d.argv(true)) != 0 || !strings.Contains(errOut, "dry run: nothing deployed") {
		t.Fatalf("dry run:\n%s", errOut)
	}
	var res rotate.ManifestResult
	out, errOut := runDiegoResult(t, &res, args...)
	if res.ActiveLabel != "k2" || len(res.Deployed) != 2 {
		t.Fatalf("summary %q: %+v", out, res)
	}
	if !strings.Contains(errOut, "step 6/6 reencrypt: done") || !strings.Contains(errOut, "to drop them, deploy once more with -o") {
		t.Fatalf("progress:\n%s", errOut)
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
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go to build the diego CLI")
	}
	d := newManifestEnv(t)
	diego := diegoCLI(t)
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
