package releasetest

import (
	"testing"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// TestManifestPropertiesMatchSpecs: for the base manifest, every ops-file
// and the combinations of ops-files, the properties given to the jobs of
// this release are declared in their specs, properties without a default are
// set, and values have the default's type (the checks of diego-manifest
// generate). The ERB renderer ignores an unknown property, so a misspelt one
// would otherwise go unnoticed.
func TestManifestPropertiesMatchSpecs(t *testing.T) {
	r := boshrel.NewRenderer()
	jobs, err := boshrel.ReadJobs(repo, r.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(scenarios(t), combinationScenarios(t)...) {
		// variables stay ((unresolved)): they are not type-checked
		b, err := boshrel.Interpolate(boshrel.Interpolation{Manifest: baseManifest(), OpsFiles: s.opsFiles, VarsFiles: s.varsFiles})
		if err != nil {
			t.Errorf("[%s] interpolating: %v", s.name, err)
			continue
		}
		m, err := boshrel.ParseManifest(b)
		if err != nil {
			t.Errorf("[%s] %v", s.name, err)
			continue
		}
		for _, p := range boshrel.Validate(m, jobs, "") {
			t.Errorf("[%s] %s", s.name, p)
		}
	}
}
