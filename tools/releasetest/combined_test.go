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

// combinations are ops-files meant to be applied together (each is also
// tested alone), with their example vars files: besides `bosh int` they are
// rendered and checked like a single ops-file.
var combinations = []struct {
	name     string
	opsFiles []string // names as in ops-files/README.md
}{
	// the BBS reads its keys from Vault; the errand rotates them there
	{"vault-keys-with-rotation-errand", []string{"use-vault-encryption-keys.yml", "add-rotate-encryption-key-errand.yml"}},
	// route emitters on the cells, no SSH: the scheduler keeps only the auctioneer
	{"local-route-emitters-without-ssh", []string{"use-local-route-emitters.yml", "disable-ssh.yml"}},
	// the SSH load balancer on a one-AZ deployment
	{"ssh-load-balancer-one-az", []string{"scale-to-one-az.yml", "add-ssh-proxy-load-balancer.yml"}},
}

// combinationScenarios returns the combinations as scenarios; an ops-file
// the README does not list is an error.
func combinationScenarios(t *testing.T) []scenario {
	t.Helper()
	ops, err := boshrel.ReadOpsFileReadme(repo)
	if err != nil {
		t.Errorf("ops-files/README.md: %v", err)
		return nil
	}
	byName := map[string]boshrel.OpsFile{}
	for _, of := range ops {
		byName[of.Name] = of
	}
	var out []scenario
	for _, c := range combinations {
		s := scenario{name: c.name, varsFiles: baseVarsFiles()}
		for _, n := range c.opsFiles {
			of, ok := byName[n]
			if !ok {
				t.Errorf("combination %s: ops-file %s is not listed in ops-files/README.md", c.name, n)
				continue
			}
			s.opsFiles = append(s.opsFiles, of.Path)
			if of.VarsFile != "" {
				s.varsFiles = append(s.varsFiles, of.VarsFile)
			}
		}
		out = append(out, s)
	}
	return out
}
