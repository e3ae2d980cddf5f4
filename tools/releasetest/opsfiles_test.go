package releasetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// TestOpsFilesReadmeListsEveryOpsFile: every ops-file under ops-files/ is in
// the README's table, every row names an existing file, and every example
// vars file belongs to a listed ops-file.
func TestOpsFilesReadmeListsEveryOpsFile(t *testing.T) {
	listed, err := boshrel.ReadOpsFileReadme(repo)
	if err != nil {
		t.Fatalf("ops-files/README.md: %v", err)
	}
	onDisk, err := boshrel.OpsFilesOnDisk(repo)
	if err != nil {
		t.Fatal(err)
	}
	inReadme := map[string]bool{}
	bases := map[string]bool{}
	for _, of := range listed {
		inReadme[of.Name] = true
		bases[strings.TrimSuffix(filepath.Base(of.Name), ".yml")] = true
		if _, err := os.Stat(of.Path); err != nil {
			t.Errorf("ops-files/README.md lists %s, which does not exist (row %q)", of.Name, of.Row)
		}
	}
	for _, f := range onDisk {
		if !inReadme[f] {
			t.Errorf("ops-files/%s is not listed in ops-files/README.md", f)
		}
	}
	vars, err := boshrel.ExampleVarsFiles(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		base := strings.TrimSuffix(strings.TrimPrefix(v, "vars-"), ".yml")
		if !strings.HasPrefix(v, "vars-") || !bases[base] {
			t.Errorf("ops-files/example-vars-files/%s does not belong to an ops-file listed in ops-files/README.md (want vars-<ops-file name>.yml)", v)
		}
	}
	if len(listed) == 0 {
		t.Errorf("ops-files/README.md lists no ops-file")
	}
}

// TestBoshIntVarErrs runs the real bosh CLI: `bosh int manifests/diego.yml
// --var-errs --vars-store TMP -o OPS -l VARS` for the base manifest, every
// ops-file, all ops-files that apply together (see combinedScenario) and the
// combinations meant to be applied together (combinations).
func TestBoshIntVarErrs(t *testing.T) {
	bosh := boshCLI(t)
	all := append(scenarios(t), combinationScenarios(t)...)
	if c, ok := combinedScenario(t); ok {
		all = append(all, c)
	}
	for _, s := range all {
		s := s
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"int", baseManifest(), "--var-errs", "--vars-store", varsStore(t)}
			for _, o := range s.opsFiles {
				args = append(args, "-o", o)
			}
			for _, l := range s.varsFiles {
				args = append(args, "-l", l)
			}
			cmd := exec.Command(bosh, args...)
			cmd.Dir = repo
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bosh %s: %v\n%s", strings.Join(rel(args), " "), err, out)
			}
		})
	}
}

func rel(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if r, err := filepath.Rel(repo, a); err == nil && !strings.HasPrefix(r, "..") && filepath.IsAbs(a) {
			a = r
		}
		out[i] = a
	}
	return out
}
