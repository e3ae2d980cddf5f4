package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Build is one `go build -o DIR/` of Go packages, with Env added to the
// environment (e.g. CGO_ENABLED=0 for a static binary).
type Build struct {
	Pkgs []string
	Env  []string
}

// MainWithBinaries is a TestMain for suites that run binaries: it builds
// each of builds into one temporary directory, stores its path in *dir, runs
// the tests, removes the directory and exits with the tests' status.
func MainWithBinaries(m *testing.M, dir *string, builds ...Build) {
	d, err := os.MkdirTemp("", "test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, b := range builds {
		cmd := exec.Command("go", append([]string{"build", "-o", d + "/"}, b.Pkgs...)...)
		cmd.Env = append(os.Environ(), b.Env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %v: %v\n%s", b.Pkgs, err, out)
			_ = os.RemoveAll(d)
			os.Exit(1)
		}
	}
	*dir = d
	code := m.Run()
	_ = os.RemoveAll(d)
	os.Exit(code)
}
