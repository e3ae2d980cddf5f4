package rotate

// The planner: where a rotation is, and the steps still to run, decided from
// what the run reads first (the Vault document, or the manifest's key ring
// and every BBS's admin status). No I/O; tested with golden scenarios
// (testdata/*.txt, plan_test.go).

import (
	"fmt"
	"maps"
	"slices"

	"github.com/diego-go/diego/src/bbs/reencrypt"
)

// VaultState is the Vault document's key ring as a run reads it first.
type VaultState struct {
	Active     string
	Labels     []string // sorted
	RotatingTo string
	// NewLabel names the key a new rotation adds.
	NewLabel string
}

// VaultPlan is a Vault-mode run: Steps in order, each run then followed by
// its AfterStep hook.
type VaultPlan struct {
	Target  string // the key the rotation makes active
	Resumed bool
	// AddKey: step add-key writes the new key (false with Resumed: it only
	// marks the rotation to the already active key as unfinished).
	AddKey   bool
	Activate bool     // step activate writes the active label (false: it is already Target)
	Old      []string // the keys step remove-old-keys removes
	Steps    []Step
}

// PlanVault plans a Vault-mode run. An unfinished rotation (rotating_to)
// is resumed; a ring of several keys is finished to its active key; never
// is a third key added.
func PlanVault(s VaultState) (VaultPlan, error) {
	p := VaultPlan{Steps: slices.Clone(Steps)}
	labels := slices.Clone(s.Labels)
	switch {
	case s.RotatingTo != "":
		p.Resumed, p.Target = true, s.RotatingTo
		p.Steps = p.Steps[1:] // the key is there already
	case len(s.Labels) > 1:
		p.Resumed, p.Target = true, s.Active
	default:
		if slices.Contains(s.Labels, s.NewLabel) {
			return VaultPlan{}, fmt.Errorf("the new key label %q is already in Vault", s.NewLabel)
		}
		p.AddKey, p.Target = true, s.NewLabel
		labels = append(labels, s.NewLabel)
	}
	p.Activate = s.Active != p.Target
	for _, l := range labels {
		if l != p.Target {
			p.Old = append(p.Old, l)
		}
	}
	slices.Sort(p.Old)
	return p, nil
}

// ManifestState is what a manifest-mode run reads first: the manifest's key
// ring (the deployment's usual configuration, without the rotation's
// ops-files) and the status of every BBS that answers.
type ManifestState struct {
	BaseActive string
	BaseLabels []string
	BBS        map[string]reencrypt.Status // by admin URL
	// NewLabel is the label asked for (--new-key-label), or "".
	NewLabel string
	// DefaultLabel names the new key when NewLabel is "".
	DefaultLabel string
	// AddedByRotation: for the label Unconfirmed returns, whether the
	// deployed manifest adds it with its own passphrase variable and the
	// given configuration does not (this command's first deploy ran).
	AddedByRotation bool
}

// ManifestPlan is a manifest-mode run.
type ManifestPlan struct {
	Target  string
	Resumed bool
	Old     []string // the manifest's keys other than Target, unused afterwards
	// Deploy1 and Deploy2: the deploys still to run (the new key known
	// everywhere; the new key active).
	Deploy1, Deploy2 bool
	Steps            []ManifestStep
}

// extraLabels lists the labels some BBS holds or seals with that the
// manifest lacks, in URL order.
func (s ManifestState) extraLabels() []string {
	var extra []string
	for _, u := range slices.Sorted(maps.Keys(s.BBS)) {
		st := s.BBS[u]
		for _, l := range append(slices.Clone(st.Labels), st.ActiveLabel) {
			if l != "" && !slices.Contains(s.BaseLabels, l) && !slices.Contains(extra, l) {
				extra = append(extra, l)
			}
		}
	}
	return extra
}

// Unconfirmed returns the label that only the deployed manifest can tell
// apart (see ManifestState.AddedByRotation), or "". The BBSs look the same
// after this command's first deploy as after a configuration that drops an
// old key but is not deployed yet (keys {active, label}, label unused, the
// manifest has only the active one); with a BBS sealing with the label the
// second deploy ran, so there is nothing to tell apart.
func (s ManifestState) Unconfirmed() string {
	extra := s.extraLabels()
	if len(extra) != 1 {
		return ""
	}
	for _, st := range s.BBS {
		if st.ActiveLabel == extra[0] {
			return ""
		}
	}
	return extra[0]
}

// PlanManifest plans a manifest-mode run. A label some BBS holds (or has
// active) that the manifest does not is an unfinished rotation: it is
// resumed, never a second one started beside it. Otherwise every BBS must
// agree with the manifest, and a new label is chosen. Where the rotation is
// comes from the BBSs alone (no state file).
func PlanManifest(s ManifestState) (ManifestPlan, error) {
	var p ManifestPlan
	switch extra := s.extraLabels(); len(extra) {
	case 0:
		for _, u := range slices.Sorted(maps.Keys(s.BBS)) {
			if a := s.BBS[u].ActiveLabel; a != s.BaseActive {
				return p, fmt.Errorf("the BBS at %s has %q active, but the manifest makes %q active: deploy the deployment's usual configuration first, or give its ops-files and vars", u, a, s.BaseActive)
			}
		}
		p.Target = s.NewLabel
		if p.Target == "" {
			p.Target = s.DefaultLabel
		}
		if err := CheckManifestLabel(p.Target); err != nil {
			return p, err
		}
		if slices.Contains(s.BaseLabels, p.Target) {
			return p, fmt.Errorf("the new key label %q is already in the manifest: choose another", p.Target)
		}
	case 1:
		label := extra[0]
		if s.NewLabel != "" && s.NewLabel != label {
			return p, fmt.Errorf("a rotation to key %q is unfinished (the BBSs hold it, the manifest does not): run again without --new-key-label, or with %q, to finish it first", label, label)
		}
		if s.Unconfirmed() == label && !s.AddedByRotation {
			return p, fmt.Errorf("the BBSs hold key %q, which the manifest does not, and it is not the new key of an unfinished rotation by this command (the deployed manifest does not add it with its variable %s): if the deployment's configuration drops %q, deploy it first, then run again",
				label, PassphraseVariable(label), label)
		}
		p.Target, p.Resumed = label, true
		if err := CheckManifestLabel(label); err != nil {
			return p, err
		}
	default:
		return p, fmt.Errorf("the BBSs hold keys %v that the manifest does not (it has %v): give the deployment's usual ops-files and vars, so that the manifest is the deployed one, and run again", extra, s.BaseLabels)
	}
	for _, l := range s.BaseLabels {
		if l != p.Target {
			p.Old = append(p.Old, l)
		}
	}
	anyActive, allHold, allActive := false, true, true
	for _, st := range s.BBS {
		anyActive = anyActive || st.ActiveLabel == p.Target
		allActive = allActive && st.ActiveLabel == p.Target
		allHold = allHold && slices.Contains(st.Labels, p.Target)
	}
	p.Deploy1, p.Deploy2 = !anyActive && !allHold, !allActive
	p.Steps = []ManifestStep{MStepPlan}
	if p.Deploy1 {
		p.Steps = append(p.Steps, MStepDeployAddKey)
	}
	if !anyActive {
		p.Steps = append(p.Steps, MStepVerifyAddKey)
	}
	if p.Deploy2 {
		p.Steps = append(p.Steps, MStepDeployActivate)
	}
	p.Steps = append(p.Steps, MStepVerifyActive, MStepReencrypt)
	return p, nil
}
