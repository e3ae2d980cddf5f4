package rotate

// The BOSH side of manifest mode: the ops-files a rotation writes, and the
// bosh deploy and interpolate command lines.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

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
