package rotate

// Manifest mode: the key ring is the bbs job's encryption_keys and
// active_key_label in the BOSH manifest, so a rotation is two deploys (the
// new key known everywhere, then active) with the BBS admin API verifying
// each and following the re-encryption. See docs/key-rotation.md, "Without
// Vault: keys in the manifest".

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/diego-go/diego/src/bbs/reencrypt"
)

// ManifestStep names a point of a manifest-mode rotation; AfterStep hooks run
// after each.
type ManifestStep int

// The manifest-mode steps, in order.
const (
	MStepPlan           ManifestStep = iota + 1 // the plan is printed (a dry run stops here)
	MStepDeployAddKey                           // deploy 1 ran: the new key is in the manifest, not active
	MStepVerifyAddKey                           // every reachable BBS holds the new key, the old one still active
	MStepDeployActivate                         // deploy 2 ran: the new key is active in the manifest
	MStepVerifyActive                           // every reachable BBS seals with the new key
	MStepReencrypt                              // no row is sealed under another label
)

var manifestStepNames = map[ManifestStep]string{MStepPlan: "plan", MStepDeployAddKey: "deploy-add-key",
	MStepVerifyAddKey: "verify-add-key", MStepDeployActivate: "deploy-activate", MStepVerifyActive: "verify-active",
	MStepReencrypt: "reencrypt"}

// ManifestSteps lists every manifest-mode step in order.
var ManifestSteps = []ManifestStep{MStepPlan, MStepDeployAddKey, MStepVerifyAddKey, MStepDeployActivate, MStepVerifyActive, MStepReencrypt}

func (s ManifestStep) String() string { return manifestStepNames[s] }

const (
	// BBSPropertiesPath is where the bbs job's diego.bbs properties are in
	// the manifest (as in ops-files/add-bbs-encryption-key.yml).
	BBSPropertiesPath = "/instance_groups/name=api/jobs/name=bbs/properties/diego/bbs"
	// SetActiveKeyOpsFile is the release's ops-file making
	// ((diego_bbs_active_key_label)) the active key.
	SetActiveKeyOpsFile = "set-bbs-active-key.yml"
	// ActiveKeyLabelVar is the variable SetActiveKeyOpsFile reads.
	ActiveKeyLabelVar = "diego_bbs_active_key_label"
)

// manifestLabel is what a label may be in manifest mode: it is written into
// an ops-file and a director variable name.
var manifestLabel = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$`)

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
	r          *run
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
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.VerifyTimeout <= 0 {
		cfg.VerifyTimeout = 5 * time.Minute
	}
	start := time.Now()
	m := &manifestRun{cfg: cfg, res: ManifestResult{Deployment: cfg.Deployment, DryRun: cfg.DryRun}}
	m.r = &run{cfg: Config{BBSAdminURLs: cfg.BBSAdminURLs, HTTPClient: cfg.HTTPClient, Progress: cfg.Progress,
		PollInterval: cfg.PollInterval}, reached: map[string]bool{}}
	m.r.fixActive = m.fixActive
	err := m.run(ctx)
	m.res.Duration = time.Since(start)
	for _, u := range cfg.BBSAdminURLs {
		if m.r.reached[u] {
			m.res.BBSReached = append(m.res.BBSReached, u)
		}
	}
	return m.res, err
}

func (m *manifestRun) logf(format string, args ...any) { m.r.logf(format, args...) }

func (m *manifestRun) after(s ManifestStep) error {
	m.logf("step %d/%d %s: done", int(s), len(ManifestSteps), s)
	if m.cfg.AfterStep != nil {
		return m.cfg.AfterStep(s)
	}
	return nil
}

func (m *manifestRun) run(ctx context.Context) error {
	// Where things are: the manifest's ring, then every BBS's.
	if err := m.readBase(ctx); err != nil {
		return fmt.Errorf("reading the key ring of the manifest (nothing changed): %w", err)
	}
	m.logf("the manifest (%s with the deployment's ops-files and vars) holds keys %v with %q active",
		m.cfg.Manifest, m.baseLabels, m.baseActive)
	sts, err := m.statusAll(ctx)
	if err != nil {
		return fmt.Errorf("before rotating (nothing changed): %w", err)
	}
	if err := m.pickLabel(ctx, sts); err != nil {
		return fmt.Errorf("before rotating (nothing changed): %w", err)
	}
	label := m.label
	m.res.ActiveLabel = label
	for _, l := range m.baseLabels {
		if l != label {
			m.res.OldLabels = append(m.res.OldLabels, l)
		}
	}

	// Where the rotation is: derived from the BBSs alone (no state file).
	anyActive, allHold, allActive := false, true, true
	for _, st := range sts {
		anyActive = anyActive || st.ActiveLabel == label
		allActive = allActive && st.ActiveLabel == label
		allHold = allHold && slices.Contains(st.Labels, label)
	}
	needDeploy1 := !anyActive && !allHold
	needDeploy2 := !allActive

	if err := m.writeOpsFiles(); err != nil {
		return err
	}
	deploy1, deploy2 := m.deployArgs()
	m.plan(deploy1, deploy2, needDeploy1, needDeploy2)
	if err := m.after(MStepPlan); err != nil {
		return err
	}
	if m.cfg.DryRun {
		m.logf("dry run: nothing deployed")
		return nil
	}

	// 1. every BBS learns the new key; the old one stays active.
	if needDeploy1 {
		if err := m.deploy(ctx, MStepDeployAddKey, deploy1); err != nil {
			return err
		}
		if err := m.after(MStepDeployAddKey); err != nil {
			return err
		}
	}
	if !anyActive {
		if err := m.verifyAddKey(ctx); err != nil {
			return err
		}
		if err := m.after(MStepVerifyAddKey); err != nil {
			return err
		}
	}

	// 2. the new key becomes active (the serving BBS re-encrypts).
	if needDeploy2 {
		if err := m.deploy(ctx, MStepDeployActivate, deploy2); err != nil {
			return err
		}
		if err := m.after(MStepDeployActivate); err != nil {
			return err
		}
	}
	if err := m.verifyActive(ctx); err != nil {
		return err
	}
	if err := m.after(MStepVerifyActive); err != nil {
		return err
	}

	// 3. follow re-encryption until no row is under another key.
	if err := m.r.reencrypt(ctx, label); err != nil {
		return fmt.Errorf("step %s: %w (run again to resume)", MStepReencrypt, err)
	}
	m.res.RowsReencrypted, m.res.Reencryption = m.r.res.RowsReencrypted, m.r.res.Reencryption
	if err := m.after(MStepReencrypt); err != nil {
		return err
	}
	m.finalWords()
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

// pickLabel decides which rotation this run does. A label some BBS holds (or
// has active) that the manifest does not is an unfinished rotation: it is
// resumed, never a second one started beside it (see unfinished for the one
// ambiguous case). Otherwise every BBS must agree with the manifest, and a
// new label is chosen.
func (m *manifestRun) pickLabel(ctx context.Context, sts map[string]reencrypt.Status) error {
	var extra []string
	for _, u := range slices.Sorted(maps.Keys(sts)) {
		st := sts[u]
		for _, l := range append(slices.Clone(st.Labels), st.ActiveLabel) {
			if l != "" && !slices.Contains(m.baseLabels, l) && !slices.Contains(extra, l) {
				extra = append(extra, l)
			}
		}
	}
	switch len(extra) {
	case 0:
	case 1:
		if m.cfg.NewLabel != "" && m.cfg.NewLabel != extra[0] {
			return fmt.Errorf("a rotation to key %q is unfinished (the BBSs hold it, the manifest does not): run again without --new-key-label, or with %q, to finish it first", extra[0], extra[0])
		}
		if err := m.unfinished(ctx, sts, extra[0]); err != nil {
			return err
		}
		m.label = extra[0]
		m.res.Resumed = true
		m.logf("resuming the unfinished rotation to key %q (the BBSs hold it, the manifest's keys are %v)", m.label, m.baseLabels)
		return CheckManifestLabel(m.label)
	default:
		return fmt.Errorf("the BBSs hold keys %v that the manifest does not (it has %v): give the deployment's usual ops-files and vars, so that the manifest is the deployed one, and run again", extra, m.baseLabels)
	}
	for _, u := range slices.Sorted(maps.Keys(sts)) {
		if a := sts[u].ActiveLabel; a != m.baseActive {
			return fmt.Errorf("the BBS at %s has %q active, but the manifest makes %q active: deploy the deployment's usual configuration first, or give its ops-files and vars", u, a, m.baseActive)
		}
	}
	m.label = m.cfg.NewLabel
	if m.label == "" {
		m.label = defaultLabel()
	}
	if err := CheckManifestLabel(m.label); err != nil {
		return err
	}
	if slices.Contains(m.baseLabels, m.label) {
		return fmt.Errorf("the new key label %q is already in the manifest: choose another", m.label)
	}
	m.logf("starting a rotation from %q to the new key %q", m.baseActive, m.label)
	return nil
}

// unfinished checks that label, held by a BBS but not in the manifest, is an
// unfinished rotation. With a BBS sealing with it, it is (the second deploy
// ran). Otherwise the BBSs look the same after this command's first deploy
// as after a configuration that drops an old key but is not deployed yet
// (keys {active, label}, label unused; the manifest has only the active
// one). It is the first only if the deployed manifest references the key's
// own passphrase variable (the first deploy's ops-file) and the
// configuration given does not (a configuration that kept the key's ops-file
// and removes the key would).
func (m *manifestRun) unfinished(ctx context.Context, sts map[string]reencrypt.Status, label string) error {
	for _, st := range sts {
		if st.ActiveLabel == label {
			return nil
		}
	}
	v := PassphraseVariable(label)
	deployed, err := m.boshOut(ctx, "-d", m.cfg.Deployment, "manifest")
	if err != nil {
		return fmt.Errorf("the BBSs hold key %q, which the manifest does not: reading the deployed manifest to tell an unfinished rotation from an undeployed key removal: %w", label, err)
	}
	given, err := m.boshOut(ctx, m.interpolateArgs()...)
	if err != nil {
		return fmt.Errorf("interpolating the manifest: %w", err)
	}
	if strings.Contains(deployed, "(("+v+"))") && !strings.Contains(given, v) {
		return nil
	}
	return fmt.Errorf("the BBSs hold key %q, which the manifest does not, and it is not the new key of an unfinished rotation by this command (the deployed manifest does not add it with its variable %s): if the deployment's configuration drops %q, deploy it first, then run again",
		label, v, label)
}

// CheckManifestLabel: a label manifest mode can write into an ops-file and a
// director variable name.
func CheckManifestLabel(l string) error {
	if !manifestLabel.MatchString(l) {
		return fmt.Errorf("key label %q: 1-127 characters of letters, digits, '.', '_' and '-', starting with a letter or digit", l)
	}
	return nil
}

// PassphraseVariable is the director variable holding the passphrase of the
// key label: one per label, so every rotation gets a fresh passphrase that
// the director's config server generates and keeps for later deploys.
func PassphraseVariable(label string) string {
	slug := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			return c
		}
		return '_'
	}, label)
	sum := sha256.Sum256([]byte(label))
	return "diego_bbs_key_" + slug + "_" + hex.EncodeToString(sum[:3]) + "_passphrase"
}

// KeyOpsFile is the ops-file adding the key label (its passphrase the
// director variable PassphraseVariable(label)). It only depends on the
// label, so a resumed run writes it identically.
func KeyOpsFile(label string) string {
	v := PassphraseVariable(label)
	return fmt.Sprintf(`# Written by diego rotate-encryption-key for the rotation to BBS encryption
# key %[1]s: adds it to diego.bbs.encryption_keys. Its passphrase is the
# director variable %[2]s, generated and kept by the director's
# config server (one variable per key, so no two keys share a passphrase).
# Keep this ops-file in the deployment's configuration from now on (with
# %[3]s and -v %[4]s=%[1]s).
- type: replace
  path: %[5]s/encryption_keys/-
  value:
    label: %[6]s
    passphrase: ((%[2]s))
- type: replace
  path: /variables/-
  value:
    name: %[2]s
    type: password
    options:
      length: 64
`, label, v, "ops-files/"+SetActiveKeyOpsFile, ActiveKeyLabelVar, BBSPropertiesPath, strconv.Quote(label))
}

// DropKeysOpsFile is the ops-file removing the old labels from the
// manifest, for a deploy after the rotation.
func DropKeysOpsFile(newLabel string, old []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by diego rotate-encryption-key: removes the keys %v, unused since\n# the rotation to %s re-encrypted every row. Deploy with it once the rotation\n# has finished.\n", old, newLabel)
	for _, l := range old {
		fmt.Fprintf(&b, "- type: remove\n  path: %s/encryption_keys/label=%s\n", BBSPropertiesPath, l)
	}
	return b.String()
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

// deployArgs are the bosh arguments of the two deploys: the deployment's
// usual configuration with the new key's ops-file (1), and with
// set-bbs-active-key.yml and diego_bbs_active_key_label=<new> too (2; an
// earlier rotation's -v diego_bbs_active_key_label is replaced).
func (m *manifestRun) deployArgs() (deploy1, deploy2 []string) {
	build := func(extraOps []string, activate bool) []string {
		a := []string{"-n", "-d", m.cfg.Deployment, "deploy", m.cfg.Manifest}
		for _, o := range append(slices.Clone(m.cfg.OpsFiles), extraOps...) {
			a = append(a, "-o", o)
		}
		for _, l := range m.cfg.VarsFiles {
			a = append(a, "-l", l)
		}
		for _, v := range m.cfg.Vars {
			if activate && strings.HasPrefix(v, ActiveKeyLabelVar+"=") {
				continue
			}
			a = append(a, "-v", v)
		}
		if activate {
			a = append(a, "-v", ActiveKeyLabelVar+"="+m.label)
		}
		return a
	}
	setActive := filepath.Join(m.cfg.ReleaseOpsDir, SetActiveKeyOpsFile)
	return build([]string{m.res.KeyOpsFile}, false), build([]string{m.res.KeyOpsFile, setActive}, true)
}

func (m *manifestRun) plan(deploy1, deploy2 []string, need1, need2 bool) {
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

func (m *manifestRun) interpolateArgs() []string {
	a := []string{"interpolate", m.cfg.Manifest}
	for _, o := range m.cfg.OpsFiles {
		a = append(a, "-o", o)
	}
	for _, l := range m.cfg.VarsFiles {
		a = append(a, "-l", l)
	}
	for _, v := range m.cfg.Vars {
		a = append(a, "-v", v)
	}
	return a
}

// interpolate is `bosh interpolate` of the deployment's usual configuration
// at path.
func (m *manifestRun) interpolate(ctx context.Context, path string) (string, error) {
	out, err := m.boshOut(ctx, append(m.interpolateArgs(), "--path", path)...)
	return strings.Trim(strings.TrimSpace(out), `"'`), err
}

// boshOut runs the bosh CLI and returns its output.
func (m *manifestRun) boshOut(ctx context.Context, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, m.cfg.BoshCLI, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", shellQuote(append([]string{m.cfg.BoshCLI}, args...)), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// statusAll is the status of every BBS that answers; it waits up to
// VerifyTimeout while none does.
func (m *manifestRun) statusAll(ctx context.Context) (map[string]reencrypt.Status, error) {
	deadline := time.Now().Add(m.cfg.VerifyTimeout)
	lastLine := time.Time{}
	for {
		out := map[string]reencrypt.Status{}
		var errs []string
		for _, u := range m.cfg.BBSAdminURLs {
			st, err := m.r.admin(ctx, http.MethodGet, u, "status")
			if err == nil {
				out[u] = st
				m.r.reached[u] = true
				continue
			}
			if !errors.Is(err, errUnreachable) {
				return nil, fmt.Errorf("the BBS at %s: %w", u, err)
			}
			errs = append(errs, err.Error())
		}
		if len(out) > 0 {
			for _, u := range m.cfg.BBSAdminURLs {
				if _, ok := out[u]; !ok {
					m.logf("bbs %s: not serving (a standby, or down): it reads its keys from its configuration when it starts serving", u)
				}
			}
			return out, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no BBS answered within %s (%s): check --bbs-admin-url and that the deployment runs", m.cfg.VerifyTimeout, strings.Join(errs, "; "))
		}
		if time.Since(lastLine) >= 10*time.Second {
			lastLine = time.Now()
			m.logf("no BBS answered yet (starting?); retrying")
		}
		if err := sleep(ctx, m.cfg.PollInterval); err != nil {
			return nil, fmt.Errorf("no BBS answered (%s): %w", strings.Join(errs, "; "), err)
		}
	}
}

func (m *manifestRun) verifyAddKey(ctx context.Context) error {
	sts, err := m.statusAll(ctx)
	if err != nil {
		return fmt.Errorf("step %s: %w", MStepVerifyAddKey, err)
	}
	for _, u := range slices.Sorted(maps.Keys(sts)) {
		st := sts[u]
		if !slices.Contains(st.Labels, m.label) {
			return fmt.Errorf("step %s: the BBS at %s holds keys %v, without the new key %q: the deploy did not reach it (is it this deployment's BBS? is the bbs job in instance group api?); nothing is sealed with %q yet, fix and run again",
				MStepVerifyAddKey, u, st.Labels, m.label, m.label)
		}
		if st.ActiveLabel != m.baseActive {
			return fmt.Errorf("step %s: the BBS at %s has %q active, not %q: the first deploy must not change the active key; check the deployment's ops-files and vars",
				MStepVerifyAddKey, u, st.ActiveLabel, m.baseActive)
		}
	}
	m.logf("every BBS that answers (%d) holds %q; %q is still active", len(sts), m.label, m.baseActive)
	return nil
}

func (m *manifestRun) verifyActive(ctx context.Context) error {
	sts, err := m.statusAll(ctx)
	if err != nil {
		return fmt.Errorf("step %s: %w", MStepVerifyActive, err)
	}
	for _, u := range slices.Sorted(maps.Keys(sts)) {
		st := sts[u]
		if st.ActiveLabel != m.label {
			return fmt.Errorf("step %s: the BBS at %s has %q active (keys %v), not %q: the second deploy did not reach it; run again (it deploys again)",
				MStepVerifyActive, u, st.ActiveLabel, st.Labels, m.label)
		}
		m.r.pending = max(m.r.pending, st.PendingRows+st.RowsReencrypted)
	}
	m.logf("every BBS that answers (%d) seals with %q", len(sts), m.label)
	return nil
}

// fixActive: during re-encryption a BBS has another key active (it restarted
// with an old configuration, or missed the deploy). It re-reads its
// configuration; if that does not help, the deploy did not reach it.
func (m *manifestRun) fixActive(ctx context.Context, url, active, target string) error {
	st, err := m.r.admin(ctx, http.MethodPost, url, "reload")
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

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./=:@%+,-]+$`)

// shellQuote renders argv as a shell command line.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if shellSafe.MatchString(a) {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// tailBuffer keeps the end of a command's output for its error message.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8192 {
		t.b = append(t.b[:0], t.b[len(t.b)-4096:]...)
	}
	return len(p), nil
}

// last is the last few non-empty lines.
func (t *tailBuffer) last() string {
	lines := strings.Split(strings.TrimSpace(string(t.b)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	s := strings.TrimSpace(strings.Join(lines, " | "))
	if s == "" {
		return "no output"
	}
	return s
}
