package releasetest

import (
	"strings"
	"testing"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// combinedScenario applies the packs and add-ons together: every ops-file
// under ops-files/addons/ that the README lists, then
// rename-network-and-deployment.yml and scale-cells.yml when listed, each
// with its example vars file. (The database and sizing alternatives —
// use-*.yml, bosh-lite.yml, scale-to-one-az.yml — are each tested alone.)
func combinedScenario(t *testing.T) (scenario, bool) {
	ops, err := boshrel.ReadOpsFileReadme(repo)
	if err != nil {
		return scenario{}, false
	}
	s := scenario{name: "packs-and-addons-combined", varsFiles: baseVarsFiles()}
	for _, of := range ops {
		if strings.HasPrefix(of.Name, "addons/") || of.Name == "rename-network-and-deployment.yml" || of.Name == "scale-cells.yml" {
			s.opsFiles = append(s.opsFiles, of.Path)
			if of.VarsFile != "" {
				s.varsFiles = append(s.varsFiles, of.VarsFile)
			}
		}
	}
	return s, len(s.opsFiles) > 1
}
