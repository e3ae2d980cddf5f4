package releasetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

var (
	repo    string
	tmpRoot string
)

func TestMain(m *testing.M) {
	var err error
	repo, err = boshrel.RepoRoot()
	if r := os.Getenv("DIEGO_RELEASETEST_REPO"); r != "" {
		repo, err = r, nil // another checkout (or a copy) of the repository
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	tmpRoot, err = os.MkdirTemp("", "releasetest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// boshCLI returns bin/bosh, building it with ci/dev/build-bosh.sh when needed.
func boshCLI(t *testing.T) string {
	t.Helper()
	boshOnce.Do(func() {
		cmd := exec.Command("bash", filepath.Join(repo, "ci", "dev", "build-bosh.sh"))
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			boshErr = fmt.Errorf("ci/dev/build-bosh.sh: %v\n%s", err, out)
		}
	})
	if boshErr != nil {
		t.Fatal(boshErr)
	}
	return filepath.Join(repo, "bin", "bosh")
}

var (
	boshOnce sync.Once
	boshErr  error
)

// binaries builds the repository's commands once (go build ./src/cmd/...).
func binaries(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir = filepath.Join(tmpRoot, "bin")
		os.MkdirAll(binDir, 0o755)
		cmd := exec.Command("go", "build", "-o", binDir+"/", "./src/cmd/...")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build ./src/cmd/...: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// scenario is one manifest to test: the base manifest, or it with one ops-file.
type scenario struct {
	name      string
	opsFiles  []string
	varsFiles []string
}

func baseManifest() string { return filepath.Join(repo, "manifests", "diego.yml") }

// baseVarsFiles is the base manifest's example vars file
// (manifests/example-vars-files/vars-diego.yml) when there is one.
func baseVarsFiles() []string {
	p := filepath.Join(repo, "manifests", "example-vars-files", "vars-diego.yml")
	if _, err := os.Stat(p); err != nil {
		return nil
	}
	return []string{p}
}

// scenarios lists the base manifest, then every ops-file of
// ops-files/README.md (with its example vars file when there is one).
func scenarios(t *testing.T) []scenario {
	t.Helper()
	ops, err := boshrel.ReadOpsFileReadme(repo)
	if err != nil {
		t.Errorf("ops-files/README.md: %v (testing the base manifest only)", err)
	}
	base := baseVarsFiles()
	out := []scenario{{name: "base", varsFiles: base}}
	for _, of := range ops {
		s := scenario{name: of.Name, opsFiles: []string{of.Path}, varsFiles: base}
		if of.VarsFile != "" {
			s.varsFiles = append(append([]string{}, base...), of.VarsFile)
		}
		out = append(out, s)
	}
	return out
}

// varsStore returns a fresh copy of a vars store holding the base manifest's
// generated variables (CA, certificates, passwords), generated once: each
// scenario then generates only what its ops-file adds.
func varsStore(t *testing.T) string {
	t.Helper()
	seedOnce.Do(func() {
		seedPath = filepath.Join(tmpRoot, "seed-vars.yml")
		_, seedErr = boshrel.Interpolate(boshrel.Interpolation{
			Manifest: baseManifest(), VarsFiles: baseVarsFiles(), VarsStore: seedPath,
		})
	})
	if seedErr != nil {
		t.Fatalf("generating the base manifest's variables: %v", seedErr)
	}
	b, err := os.ReadFile(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "vars.yml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	seedOnce sync.Once
	seedPath string
	seedErr  error
)
