package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var out, errOut bytes.Buffer
	if err := run([]string{"-dir", dir, "-host", "bbs.local", "-host", "10.0.0.5,cell.local"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 8 {
		t.Fatalf("got %d lines, want 8:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || f[1] != "generated" || f[2] != filepath.Join(dir, f[0]) {
			t.Errorf("unexpected line %q", l)
		}
	}
	out.Reset()
	if err := run([]string{"-dir", dir, "-host", "bbs.local"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), " kept ") != 8 {
		t.Errorf("second run did not keep every file:\n%s", out.String())
	}
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"extra"}} {
		var out, errOut bytes.Buffer
		err := run(args, &out, &errOut)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
		if !strings.Contains(errOut.String(), "usage: diego-certs") {
			t.Errorf("run(%q) printed no usage: %q", args, errOut.String())
		}
	}
}
