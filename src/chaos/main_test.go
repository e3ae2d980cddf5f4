//go:build chaos

package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// reportPath is the document the suite's figures table goes to.
const reportPath = "../../docs/reliability.md"

// TestMain builds the component binaries and sample-app, runs the
// scenarios and writes the recorded figures to docs/reliability.md.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	builds := [][]string{
		{"../cmd/bbs", "../cmd/locket", "../cmd/auctioneer", "../cmd/rep", "../cmd/file-server", "../cmd/ssh-proxy", "../cmd/route-emitter", "../cmd/hub"},
		{"../cmd/sample-app"},
	}
	for _, pkgs := range builds {
		cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if pkgs[0] != "../cmd/sample-app" {
			cmd.Env = os.Environ()
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %v: %v\n%s", pkgs, err, out)
			os.Exit(1)
		}
	}
	BinDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	if err := WriteReport(filepath.Clean(reportPath)); err != nil {
		fmt.Fprintln(os.Stderr, "writing the figures:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
