// Package chaos is the harness of `make test-chaos`: a cluster under load
// (a writer recording every acknowledged BBS write, HTTP probers of the
// apps, a task runner), faults (src/internal/faultproxy, signals, a full disk)
// and the end-of-scenario audit, with each scenario's figures collected
// into docs/reliability.md. The scenarios are tests behind the `chaos`
// build tag.
package chaos

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/target"
)

// BinDir holds the component binaries and sample-app; the suite's TestMain
// sets it.
var BinDir string

// RequestTimeout bounds each BBS request of the load and the audit: a
// request that takes longer counts as a hang.
const RequestTimeout = 10 * time.Second

// lg is the lager logger the reference clients require; it logs nothing.
var lg = lager.NewLogger("chaos")

// NewBBSClient is a client of the reference BBS API configured as the diego
// CLI configures it from target.json, with the reference client's retries
// (three attempts, a second apart, on transport errors).
func NewBBSClient(t target.File) (bbs.InternalClient, error) {
	cl, err := bbs.NewClientWithConfig(bbs.ClientConfig{
		URL: t.BBSURL, IsTLS: strings.HasPrefix(t.BBSURL, "https://"),
		CAFile: t.CACert, CertFile: t.ClientCert, KeyFile: t.ClientKey,
		RequestTimeout: RequestTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("BBS client for %s: %w", t.BBSURL, err)
	}
	return cl, nil
}

// logger is the harness's own structured log (stderr, warnings and up).
var logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// PanicsIn returns the lines of the component logs in dir (a cluster's
// logs directory) that report a Go panic.
func PanicsIn(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "panic: ") || strings.Contains(line, "goroutine ") && strings.Contains(line, "[running]") {
				out = append(out, filepath.Base(f)+": "+line)
			}
		}
	}
	return out
}

// fmtDur prints a duration for the figures table.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 s"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

// FmtDur prints a duration the way the figures table does.
func FmtDur(d time.Duration) string { return fmtDur(d) }
