package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunPrintsReport(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-cells", "6", "-zones", "2", "-instances", "60", "-processes", "6", "-batch", "20", "-memory-mix", "256:1,512:1", "-batch-interval", "5ms"}, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"placed 60, failed 0", "cells over capacity: 0", "max zone skew per process: ", "placements/s", "steady-state round"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, bad := range [][]string{{"-memory-mix", "lots"}, {"-cells", "0"}, {"extra"}, {"-log-level", "loud"}} {
		if err := run(context.Background(), bad, &out, &errOut); err == nil {
			t.Errorf("run(%q) succeeded", bad)
		}
	}
}
