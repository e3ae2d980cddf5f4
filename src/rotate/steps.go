package rotate

// Step names a point of the rotation; AfterStep hooks run after each.
type Step int

// The steps, in order.
const (
	StepAddKey       Step = iota + 1 // the new key is in Vault, not yet active (rotating_to set)
	StepReloadNew                    // every reachable BBS holds the new key
	StepActivate                     // the new key is active in Vault
	StepReloadActive                 // every reachable BBS seals with the new key
	StepReencrypt                    // no row is sealed under another label
	StepRemoveOld                    // the old keys are gone from Vault
	StepReloadFinal                  // every reachable BBS dropped the old keys
	StepFinish                       // rotating_to cleared: the rotation is complete
)

var stepNames = map[Step]string{StepAddKey: "add-key", StepReloadNew: "reload-new-key", StepActivate: "activate",
	StepReloadActive: "reload-active", StepReencrypt: "reencrypt", StepRemoveOld: "remove-old-keys",
	StepReloadFinal: "reload-final", StepFinish: "finish"}

// Steps lists every step in order.
var Steps = []Step{StepAddKey, StepReloadNew, StepActivate, StepReloadActive, StepReencrypt, StepRemoveOld, StepReloadFinal, StepFinish}

func (s Step) String() string { return stepNames[s] }

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
