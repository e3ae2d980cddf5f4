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
