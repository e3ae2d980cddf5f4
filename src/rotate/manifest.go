package rotate

// Manifest mode: the key ring is the bbs job's encryption_keys and
// active_key_label in the BOSH manifest, so a rotation is two deploys (the
// new key known everywhere, then active) with the BBS admin API verifying
// each and following the re-encryption. See docs/key-rotation.md, "Without
// Vault: keys in the manifest".

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/diego-go/diego/src/bbs/reencrypt"
)

// ManifestConfig is one rotation of a deployment whose keys are in its manifest.
type ManifestConfig struct {
	// BoshCLI is the bosh CLI (default env BOSH_CLI, else bosh on PATH). Only
	// its deploy and interpolate subcommands are used. The director comes
	// from the environment (BOSH_ENVIRONMENT, BOSH_CLIENT, ...).
	BoshCLI string
	// Deployment is the deployment name (bosh -d).
	Deployment string
	// Manifest, OpsFiles, VarsFiles and Vars (KEY=VALUE) are the deployment's
	// usual deploy configuration; the rotation appends to it.
	Manifest  string
	OpsFiles  []string
	VarsFiles []string
	Vars      []string
	// ReleaseOpsDir holds the release's ops-files (set-bbs-active-key.yml);
	// default "ops-files".
	ReleaseOpsDir string
	// OpsDir receives the ops-files this rotation writes (the new key, and
	// the removal of the old keys for later); default a new temporary
	// directory.
	OpsDir string
	// NewLabel names the new key (default key-<UTC time>-<random>). Ignored,
	// or an error if different, when an unfinished rotation is resumed.
	NewLabel string
	// BBSAdminURLs are every BBS's API address (https://host:8889).
	BBSAdminURLs []string
	// HTTPClient presents the admin client certificate (AdminHTTPClient).
	HTTPClient *http.Client
	// Progress receives the plan, progress lines and the bosh CLI's output;
	// nil discards.
	Progress io.Writer
	// PollInterval is how often the BBS status is polled (default 1s).
	PollInterval time.Duration
	// VerifyTimeout bounds waiting for a BBS to answer at all, before the
	// first deploy and after each (default 5m).
	VerifyTimeout time.Duration
	// DryRun prints the plan and stops: nothing is deployed.
	DryRun bool
	// AfterStep, for tests, runs after each step; an error stops the run
	// there, as if the process had been killed.
	AfterStep func(ManifestStep) error
}

// ManifestResult summarises a manifest-mode run.
type ManifestResult struct {
	Deployment      string        `json:"deployment"`
	ActiveLabel     string        `json:"active_label"`
	OldLabels       []string      `json:"old_labels"` // still in the manifest, unused: drop them later
	Resumed         bool          `json:"resumed"`
	DryRun          bool          `json:"dry_run"`
	Plan            []string      `json:"plan"`     // the deploys still to run when the run started
	Deployed        []string      `json:"deployed"` // the deploys this run ran
	KeyOpsFile      string        `json:"key_ops_file"`
	DropOpsFile     string        `json:"drop_ops_file"`
	RowsReencrypted int64         `json:"rows_reencrypted"`
	Reencryption    time.Duration `json:"reencryption_ns"`
	Duration        time.Duration `json:"duration_ns"`
	BBSReached      []string      `json:"bbs_reached"`
}

type manifestRun struct {
	cfg        ManifestConfig
	d          *driver
	plan       ManifestPlan
	res        ManifestResult
	baseActive string
	baseLabels []string
	label      string
}

// RunManifest rotates the key of a deployment whose key ring is in its
// manifest, or finishes an unfinished rotation. Bound it with ctx.
func RunManifest(ctx context.Context, cfg ManifestConfig) (ManifestResult, error) {
	switch {
	case cfg.Deployment == "" || cfg.Manifest == "":
		return ManifestResult{}, errors.New("rotate: the deployment name and its manifest are required")
	case cfg.HTTPClient == nil || len(cfg.BBSAdminURLs) == 0:
		return ManifestResult{}, errors.New("rotate: HTTPClient and at least one BBS admin URL are required")
	}
	for _, v := range cfg.Vars {
		if !strings.Contains(v, "=") {
			return ManifestResult{}, fmt.Errorf("rotate: var %q is not KEY=VALUE", v)
		}
	}
	if cfg.BoshCLI == "" {
		cfg.BoshCLI = os.Getenv("BOSH_CLI")
	}
	if cfg.BoshCLI == "" {
		p, err := exec.LookPath("bosh")
		if err != nil {
			return ManifestResult{}, errors.New("rotate: no bosh CLI: set BOSH_CLI (or --bosh-cli), or put bosh on PATH")
		}
		cfg.BoshCLI = p
	}
	if cfg.ReleaseOpsDir == "" {
		cfg.ReleaseOpsDir = "ops-files"
	}
	if _, err := os.Stat(filepath.Join(cfg.ReleaseOpsDir, SetActiveKeyOpsFile)); err != nil {
		return ManifestResult{}, fmt.Errorf("rotate: the release's ops-file %s: %w (point the release ops-files directory at the checkout's ops-files)", SetActiveKeyOpsFile, err)
	}
	if cfg.VerifyTimeout <= 0 {
		cfg.VerifyTimeout = 5 * time.Minute
	}
	start := time.Now()
	m := &manifestRun{cfg: cfg, res: ManifestResult{Deployment: cfg.Deployment, DryRun: cfg.DryRun},
		d: newDriver(cfg.BBSAdminURLs, cfg.HTTPClient, cfg.Progress, cfg.PollInterval)}
	m.cfg.Progress = m.d.progress
	m.d.fixActive = m.fixActive
	err := m.run(ctx)
	m.res.Duration = time.Since(start)
	m.res.BBSReached = m.d.reachedURLs()
	return m.res, err
}

func (m *manifestRun) logf(format string, args ...any) { m.d.logf(format, args...) }

func (m *manifestRun) run(ctx context.Context) error {
	// Where things are: the manifest's ring, then every BBS's.
	if err := m.readBase(ctx); err != nil {
		return fmt.Errorf("reading the key ring of the manifest (nothing changed): %w", err)
	}
	m.logf("the manifest (%s with the deployment's ops-files and vars) holds keys %v with %q active",
		m.cfg.Manifest, m.baseLabels, m.baseActive)
	sts, err := m.d.statusAll(ctx, m.cfg.VerifyTimeout)
	if err != nil {
		return fmt.Errorf("before rotating (nothing changed): %w", err)
	}
	state := ManifestState{BaseActive: m.baseActive, BaseLabels: m.baseLabels, BBS: sts, NewLabel: m.cfg.NewLabel}
	if state.NewLabel == "" {
		state.DefaultLabel = defaultLabel()
	}
	if l := state.Unconfirmed(); l != "" && (state.NewLabel == "" || state.NewLabel == l) {
		if state.AddedByRotation, err = m.addedByRotation(ctx, l); err != nil {
			return fmt.Errorf("before rotating (nothing changed): %w", err)
		}
	}
	if m.plan, err = PlanManifest(state); err != nil {
		return fmt.Errorf("before rotating (nothing changed): %w", err)
	}
	m.label, m.res.Resumed, m.res.ActiveLabel, m.res.OldLabels = m.plan.Target, m.plan.Resumed, m.plan.Target, m.plan.Old
	if m.plan.Resumed {
		m.logf("resuming the unfinished rotation to key %q (the BBSs hold it, the manifest's keys are %v)", m.label, m.baseLabels)
	} else {
		m.logf("starting a rotation from %q to the new key %q", m.baseActive, m.label)
	}
	if err := m.writeOpsFiles(); err != nil {
		return err
	}
	steps := m.plan.Steps
	if m.cfg.DryRun {
		steps = steps[:1]
	}
	if err := runSteps(ctx, m.d, steps, len(ManifestSteps), m.step, m.cfg.AfterStep); err != nil {
		return err
	}
	if m.cfg.DryRun {
		m.logf("dry run: nothing deployed")
		return nil
	}
	m.finalWords()
	return nil
}

// step runs one step of the plan.
func (m *manifestRun) step(ctx context.Context, s ManifestStep) error {
	deploy1, deploy2 := m.deployArgs()
	switch s {
	case MStepPlan:
		m.printPlan(deploy1, deploy2)
	case MStepDeployAddKey: // every BBS learns the new key; the old one stays active
		return m.deploy(ctx, s, deploy1)
	case MStepVerifyAddKey:
		return m.verifyAddKey(ctx)
	case MStepDeployActivate: // the new key becomes active (the serving BBS re-encrypts)
		return m.deploy(ctx, s, deploy2)
	case MStepVerifyActive:
		return m.verifyActive(ctx)
	case MStepReencrypt: // follow re-encryption until no row is under another key
		if err := m.d.reencrypt(ctx, m.label); err != nil {
			return fmt.Errorf("step %s: %w (run again to resume)", MStepReencrypt, err)
		}
		m.res.RowsReencrypted, m.res.Reencryption = m.d.rowsReencrypted, m.d.reencryption
	}
	return nil
}

// readBase interpolates the deployment's usual configuration (without the
// rotation's ops-files) for its active label and key labels.
func (m *manifestRun) readBase(ctx context.Context) error {
	var err error
	if m.baseActive, err = m.interpolate(ctx, BBSPropertiesPath+"/active_key_label"); err != nil {
		return err
	}
	for i := 0; i < 128; i++ {
		l, err := m.interpolate(ctx, fmt.Sprintf("%s/encryption_keys/%d/label", BBSPropertiesPath, i))
		if err != nil {
			if i == 0 {
				return err
			}
			break // past the end of the list
		}
		m.baseLabels = append(m.baseLabels, l)
	}
	if m.baseActive == "" || !slices.Contains(m.baseLabels, m.baseActive) {
		return fmt.Errorf("the manifest's active_key_label %q is not one of its encryption_keys %v", m.baseActive, m.baseLabels)
	}
	return nil
}

// addedByRotation tells, for label held by a BBS but not in the manifest
// and sealed with by none (see ManifestState.Unconfirmed), an unfinished
// rotation from an undeployed key removal: it is the first only if the
// deployed manifest references the key's own passphrase variable (the
// first deploy's ops-file) and the configuration given does not (a
// configuration that kept the key's ops-file and removes the key would).
func (m *manifestRun) addedByRotation(ctx context.Context, label string) (bool, error) {
	v := PassphraseVariable(label)
	deployed, err := m.boshOut(ctx, "-d", m.cfg.Deployment, "manifest")
	if err != nil {
		return false, fmt.Errorf("the BBSs hold key %q, which the manifest does not: reading the deployed manifest to tell an unfinished rotation from an undeployed key removal: %w", label, err)
	}
	given, err := m.boshOut(ctx, m.interpolateArgs()...)
	if err != nil {
		return false, fmt.Errorf("interpolating the manifest: %w", err)
	}
	return strings.Contains(deployed, "(("+v+"))") && !strings.Contains(given, v), nil
}

func (m *manifestRun) writeOpsFiles() error {
	if m.cfg.OpsDir == "" {
		d, err := os.MkdirTemp("", "diego-rotate-")
		if err != nil {
			return fmt.Errorf("creating a directory for the rotation's ops-files: %w", err)
		}
		m.cfg.OpsDir = d
	}
	if err := os.MkdirAll(m.cfg.OpsDir, 0o755); err != nil {
		return fmt.Errorf("creating the ops-file directory: %w", err)
	}
	m.res.KeyOpsFile = filepath.Join(m.cfg.OpsDir, "add-bbs-encryption-key-"+m.label+".yml")
	if err := os.WriteFile(m.res.KeyOpsFile, []byte(KeyOpsFile(m.label)), 0o644); err != nil {
		return fmt.Errorf("writing the new key's ops-file: %w", err)
	}
	if len(m.res.OldLabels) > 0 {
		m.res.DropOpsFile = filepath.Join(m.cfg.OpsDir, "remove-old-bbs-encryption-keys-"+m.label+".yml")
		if err := os.WriteFile(m.res.DropOpsFile, []byte(DropKeysOpsFile(m.label, m.res.OldLabels)), 0o644); err != nil {
			return fmt.Errorf("writing the ops-file removing the old keys: %w", err)
		}
	}
	return nil
}

func (m *manifestRun) printPlan(deploy1, deploy2 []string) {
	need1, need2 := m.plan.Deploy1, m.plan.Deploy2
	line := func(a []string) string { return shellQuote(append([]string{m.cfg.BoshCLI}, a...)) }
	state := func(need bool, done string) string {
		if need {
			return ""
		}
		return " [already done: " + done + "]"
	}
	m.logf("plan: rotate %s from key %q to %q", m.cfg.Deployment, m.baseActive, m.label)
	m.logf("  1. deploy: every BBS learns %q, %q stays active%s\n     %s", m.label, m.baseActive,
		state(need1, "the BBSs hold the key"), line(deploy1))
	m.logf("  2. verify (BBS admin API): every BBS holds %q, %q still active", m.label, m.baseActive)
	m.logf("  3. deploy: %q becomes active, the serving BBS re-encrypts every row%s\n     %s", m.label,
		state(need2, "the BBSs seal with it"), line(deploy2))
	m.logf("  4. verify: every BBS has %q active; follow re-encryption until no row is under another key", m.label)
	m.logf("the new key's ops-file %s:\n%s", m.res.KeyOpsFile, KeyOpsFile(m.label))
	if need1 {
		m.res.Plan = append(m.res.Plan, line(deploy1))
	}
	if need2 {
		m.res.Plan = append(m.res.Plan, line(deploy2))
	}
}

// deploy runs one bosh deploy, its output going to Progress.
func (m *manifestRun) deploy(ctx context.Context, step ManifestStep, args []string) error {
	m.logf("step %s: %s", step, shellQuote(append([]string{m.cfg.BoshCLI}, args...)))
	var tail tailBuffer
	cmd := exec.CommandContext(ctx, m.cfg.BoshCLI, args...)
	cmd.Stdout = io.MultiWriter(m.cfg.Progress, &tail)
	cmd.Stderr = io.MultiWriter(m.cfg.Progress, &tail)
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		what := "nothing is sealed with the new key yet"
		if step == MStepDeployActivate {
			what = "BBSs it reached may seal with the new key already; every BBS holds it"
		}
		return fmt.Errorf("step %s: bosh deploy failed: %w: %s (%s; fix the cause and run again: it resumes)",
			step, err, tail.last(), what)
	}
	m.res.Deployed = append(m.res.Deployed, shellQuote(append([]string{m.cfg.BoshCLI}, args...)))
	return nil
}

// verify checks every BBS that answers with check, in URL order, for step.
func (m *manifestRun) verify(ctx context.Context, step ManifestStep, check func(url string, st reencrypt.Status) error) (int, error) {
	sts, err := m.d.statusAll(ctx, m.cfg.VerifyTimeout)
	if err != nil {
		return 0, fmt.Errorf("step %s: %w", step, err)
	}
	for _, u := range slices.Sorted(maps.Keys(sts)) {
		if err := check(u, sts[u]); err != nil {
			return 0, fmt.Errorf("step %s: %w", step, err)
		}
	}
	return len(sts), nil
}

func (m *manifestRun) verifyAddKey(ctx context.Context) error {
	n, err := m.verify(ctx, MStepVerifyAddKey, func(u string, st reencrypt.Status) error {
		if !slices.Contains(st.Labels, m.label) {
			return fmt.Errorf("the BBS at %s holds keys %v, without the new key %q: the deploy did not reach it (is it this deployment's BBS? is the bbs job in instance group api?); nothing is sealed with %q yet, fix and run again",
				u, st.Labels, m.label, m.label)
		}
		if st.ActiveLabel != m.baseActive {
			return fmt.Errorf("the BBS at %s has %q active, not %q: the first deploy must not change the active key; check the deployment's ops-files and vars",
				u, st.ActiveLabel, m.baseActive)
		}
		return nil
	})
	if err == nil {
		m.logf("every BBS that answers (%d) holds %q; %q is still active", n, m.label, m.baseActive)
	}
	return err
}

func (m *manifestRun) verifyActive(ctx context.Context) error {
	n, err := m.verify(ctx, MStepVerifyActive, func(u string, st reencrypt.Status) error {
		if st.ActiveLabel != m.label {
			return fmt.Errorf("the BBS at %s has %q active (keys %v), not %q: the second deploy did not reach it; run again (it deploys again)",
				u, st.ActiveLabel, st.Labels, m.label)
		}
		m.d.pending = max(m.d.pending, st.PendingRows+st.RowsReencrypted)
		return nil
	})
	if err == nil {
		m.logf("every BBS that answers (%d) seals with %q", n, m.label)
	}
	return err
}

// fixActive: during re-encryption a BBS has another key active (it restarted
// with an old configuration, or missed the deploy). It re-reads its
// configuration; if that does not help, the deploy did not reach it.
func (m *manifestRun) fixActive(ctx context.Context, url, active, target string) error {
	st, err := m.d.admin(ctx, http.MethodPost, url, "reload")
	if err != nil && !errors.Is(err, errUnreachable) {
		return fmt.Errorf("step %s: reloading the BBS at %s: %w", MStepReencrypt, url, err)
	}
	if err == nil && st.ActiveLabel != target {
		return fmt.Errorf("step %s: the BBS at %s has %q active, not %q, even after re-reading its configuration: the second deploy did not reach it; run again (it deploys again)",
			MStepReencrypt, url, st.ActiveLabel, target)
	}
	return nil
}

func (m *manifestRun) finalWords() {
	m.logf("rotation of %s to key %q complete: every row is sealed with it", m.cfg.Deployment, m.label)
	m.logf("from now on deploy %s with its usual configuration plus: -o %s -o %s -v %s=%s (the ops-file is printed above; keep a copy)",
		m.cfg.Deployment, m.res.KeyOpsFile, filepath.Join(m.cfg.ReleaseOpsDir, SetActiveKeyOpsFile), ActiveKeyLabelVar, m.label)
	if m.res.DropOpsFile != "" {
		m.logf("the old keys %v stay in the manifest, unused; to drop them, deploy once more with -o %s as well",
			m.res.OldLabels, m.res.DropOpsFile)
	}
}
