package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// The benchmark at tiny scale against a real BBS: every phase runs, the
// figures are filled in, and no call fails.
func TestBenchSmoke(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout bytes.Buffer
	err := run(context.Background(), []string{
		"-bbs-url", h.URL, "-ca", h.Certs.CACert, "-cert", h.Certs.ClientCert, "-key", h.Certs.ClientKey,
		"-desired", "200", "-claim-starts", "100", "-cells", "10", "-cell-queries", "20", "-settle", "0",
		"-server-pid", strconv.Itoa(os.Getpid()), "-out", out,
	}, &stdout)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stdout.String())
	}
	var r Results
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Actual != 500 || r.DesirePerSec <= 0 || r.ListActualSec <= 0 || r.ClaimStartCalls != 200 ||
		r.CellQueryInstances != 10 || r.RSSPeakMB <= 0 || r.Errors != 0 {
		t.Fatalf("results = %+v", r)
	}
	if !strings.Contains(stdout.String(), "claim+start") {
		t.Fatalf("no summary printed:\n%s", stdout.String())
	}
}

func TestBenchRejectsUnknownPhase(t *testing.T) {
	err := run(context.Background(), []string{"-phases", "desire,explode", "-ca", "x", "-cert", "y", "-key", "z"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `unknown phase "explode"`) {
		t.Fatalf("err = %v", err)
	}
}
