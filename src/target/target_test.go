package target

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestWriteLoad: what `diego up` writes is what the readers load, with
// relative paths taken from the file's directory.
func TestWriteLoad(t *testing.T) {
	dir := t.TempDir()
	in := File{BBSURL: "https://127.0.0.1:8889", LocketAddress: "127.0.0.1:8891", CACert: "/c/ca.crt",
		ClientCert: "certs/client.crt", ClientKey: "/c/client.key", LogDir: "logs", RootFS: "preloaded:busybox",
		Backend: "process", PIDs: map[string]int{"bbs": 10},
		MetricsURLs: map[string]string{"bbs": "http://127.0.0.1:8890/metrics", "locket": "http://127.0.0.1:9105/metrics"},
		Cells:       []Cell{{CellID: "cell-1", RepURL: "https://127.0.0.1:1801", LocalURL: "http://127.0.0.1:1800", Zone: "z1", PID: 13}}}
	if err := Write(Path(dir), in); err != nil {
		t.Fatal(err)
	}
	out, err := Load(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.ClientCert, want.LogDir = filepath.Join(dir, "certs/client.crt"), filepath.Join(dir, "logs")
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("loaded %+v\nwant %+v", out, want)
	}
	if c, ok := out.Cell("cell-1"); !ok || c.PID != 13 {
		t.Fatalf("Cell(cell-1) = %+v, %v", c, ok)
	}
	if _, ok := out.Cell("cell-2"); ok {
		t.Fatal("Cell(cell-2) found")
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file loaded")
	}
}

// TestLoadAnOlderFile: a target.json written before a field existed (here
// metrics_urls) still loads, the field empty.
func TestLoadAnOlderFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "target.json")
	old := `{"bbs_url": "https://127.0.0.1:8889", "locket_address": "127.0.0.1:8891", "ca_cert": "ca.crt", "cells": [], "pids": {"bbs": 10}}`
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.BBSURL != "https://127.0.0.1:8889" || f.PIDs["bbs"] != 10 || f.MetricsURLs != nil {
		t.Errorf("loaded %+v, want its fields and no metrics URLs", f)
	}
}
