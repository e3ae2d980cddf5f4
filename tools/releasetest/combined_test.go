package releasetest

import "testing"

// combinedScenario is every pack and add-on at once (filled in from the
// manifest generator's packs).
func combinedScenario(t *testing.T) (scenario, bool) { return scenario{}, false }
