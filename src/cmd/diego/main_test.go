package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/cli"
)

func TestCommandNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands {
		if c.Name == "" || c.Run == nil || seen[c.Name] {
			t.Fatalf("bad or duplicate command %q", c.Name)
		}
		seen[c.Name] = true
	}
}

// TestUpRefusesNoCells: --cells 0 used to start the default 3 cells.
func TestUpRefusesNoCells(t *testing.T) {
	var out, errOut bytes.Buffer
	err := up(context.Background(), []string{"--cells", "0", "--dir", t.TempDir()}, &out, &errOut)
	var usage *cli.UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--cells 0: want 1 to 50") {
		t.Fatalf("diego up --cells 0: %v", err)
	}
}

// TestBenchScaleUsage: diego bench needs its subcommand, and bench scale
// reports a bad flag as a usage error.
func TestBenchScaleUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	var usage *cli.UsageError
	if err := bench(context.Background(), nil, &out, &errOut); !errors.As(err, &usage) {
		t.Errorf("diego bench: %v", err)
	}
	if err := bench(context.Background(), []string{"scale", "--no-such-flag"}, &out, &errOut); !errors.As(err, &usage) {
		t.Errorf("diego bench scale --no-such-flag: %v", err)
	}
	err := bench(context.Background(), []string{"scale", "--preset", "huge", "--dir", t.TempDir()}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), `--preset "huge"`) {
		t.Errorf("diego bench scale --preset huge: %v", err)
	}
}
