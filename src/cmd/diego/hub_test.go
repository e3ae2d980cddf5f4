package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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

// TestHubServesATarget: diego hub reads target.json, prints its URL, serves
// the API until its context ends, and shows the figures of the metrics
// endpoints the file names.
func TestHubServesATarget(t *testing.T) {
	dir := t.TempDir()
	b, err := pki.GenerateLocal(filepath.Join(dir, "certs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "# TYPE go_goroutines gauge\ngo_goroutines 42\n")
	}))
	defer metrics.Close()
	tf := target.File{BBSURL: "https://127.0.0.1:1", LocketAddress: "127.0.0.1:1", CACert: b.CACert, ClientCert: b.ClientCert, ClientKey: b.ClientKey,
		LogDir: filepath.Join(dir, "no-such-dir"), Cells: []target.Cell{{CellID: "cell-1", LocalURL: "http://127.0.0.1:2"}},
		MetricsURLs: map[string]string{"bbs": metrics.URL + "/metrics"}}
	path := target.Path(dir)
	if err := target.Write(path, tf); err != nil {
		t.Fatal(err)
	}
	loaded, err := target.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := HubConfig(loaded, "127.0.0.1:0")
	if cfg.CellLocalURLs["cell-1"] != "http://127.0.0.1:2" || cfg.LogDir != "" || cfg.BBS.ClientCert != b.ClientCert ||
		len(cfg.MetricsURLs) != 1 || cfg.MetricsURLs["bbs"] != metrics.URL+"/metrics" {
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
	hub := url.FindString(out.String())
	resp, err := http.Get(hub + "/api/overview")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/overview: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	testutil.Eventually(t, 60*time.Second, "the system view's bbs figures from the target's metrics_urls", func() (bool, string) {
		var sys struct {
			Components []struct {
				Name    string             `json:"name"`
				Metrics map[string]float64 `json:"metrics"`
			} `json:"components"`
		}
		resp, err := http.Get(hub + "/api/system")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&sys); err != nil {
			return false, err.Error()
		}
		for _, c := range sys.Components {
			if c.Name == "bbs" && c.Metrics["goroutines"] == 42 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", sys.Components)
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("diego hub: %v", err)
	}
}

// TestHubConfigFromAnOlderTarget: a target.json without metrics_urls (as
// diego up wrote before it had them) still configures a valid Hub, one
// without metrics endpoints.
func TestHubConfigFromAnOlderTarget(t *testing.T) {
	dir := t.TempDir()
	b, err := pki.GenerateLocal(filepath.Join(dir, "certs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := json.Marshal(map[string]any{"bbs_url": "https://127.0.0.1:1", "locket_address": "127.0.0.1:1",
		"auctioneer_url": "https://127.0.0.1:3", "ca_cert": b.CACert, "client_cert": b.ClientCert, "client_key": b.ClientKey,
		"cells": []any{}, "pids": map[string]int{}})
	if err := os.WriteFile(target.Path(dir), old, 0o644); err != nil {
		t.Fatal(err)
	}
	tf, err := target.Load(target.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	cfg := HubConfig(tf, "127.0.0.1:0")
	if cfg.MetricsURLs != nil || cfg.AuctioneerURL != "https://127.0.0.1:3" {
		t.Errorf("HubConfig = %+v, want no metrics URLs", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("the Hub's config from an older target.json: %v", err)
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
