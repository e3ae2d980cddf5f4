package main

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/cli"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/target"
)

// TestHubServesATarget: diego hub reads target.json, prints its URL and
// serves the API until its context ends.
func TestHubServesATarget(t *testing.T) {
	dir := t.TempDir()
	b, err := pki.GenerateLocal(filepath.Join(dir, "certs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tf := target.File{BBSURL: "https://127.0.0.1:1", LocketAddress: "127.0.0.1:1", CACert: b.CACert, ClientCert: b.ClientCert, ClientKey: b.ClientKey,
		LogDir: filepath.Join(dir, "no-such-dir"), Cells: []target.Cell{{CellID: "cell-1", LocalURL: "http://127.0.0.1:2"}}}
	path := target.Path(dir)
	if err := target.Write(path, tf); err != nil {
		t.Fatal(err)
	}
	cfg := HubConfig(tf, "127.0.0.1:0")
	if cfg.CellLocalURLs["cell-1"] != "http://127.0.0.1:2" || cfg.LogDir != "" || cfg.BBS.ClientCert != b.ClientCert {
		t.Errorf("HubConfig = %+v", cfg)
	}
	var out, errOut testutil.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub(ctx, []string{"--target", path, "--listen", "127.0.0.1:0"}, &out, &errOut) }()
	url := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	testutil.Eventually(t, 10*time.Second, "diego hub printing its URL", func() (bool, string) {
		return url.MatchString(out.String()), out.String() + errOut.String()
	})
	resp, err := http.Get(url.FindString(out.String()) + "/api/overview")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/overview: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("diego hub: %v", err)
	}
}

func TestHubUsage(t *testing.T) {
	var out, errOut testutil.SyncBuffer
	var usage *cli.UsageError
	t.Setenv("DIEGO_TARGET", "")
	if err := hub(context.Background(), nil, &out, &errOut); !errors.As(err, &usage) || !strings.Contains(err.Error(), "--target") {
		t.Errorf("diego hub without a target: %v", err)
	}
	err := hub(context.Background(), []string{"--target", filepath.Join(t.TempDir(), "target.json"), "--listen", "0.0.0.0:0"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "reading target file") {
		t.Errorf("diego hub with a missing target: %v", err)
	}
}
