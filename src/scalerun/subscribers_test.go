package scalerun

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/scalebench"
)

// By default every cell has a subscriber filtered to it, after two that
// read the whole stream; unfiltered, every subscriber reads it all.
func TestSubscriberCells(t *testing.T) {
	id := func(i int) string { return fmt.Sprintf("c%d", i) }
	c := Config{Preset: "tiny"}.WithDefaults()
	if got := c.totalSubscribers(); got != 12 {
		t.Fatalf("tiny: %d subscribers, want 10 per cell + 2 global", got)
	}
	for i, want := range map[int]string{0: "", 1: "", 2: "c0", 11: "c9"} {
		if got := c.subscriberCell(i, id); got != want {
			t.Errorf("subscriber %d: cell %q, want %q", i, got, want)
		}
	}
	u := Config{Preset: "tiny", Unfiltered: true, Subscribers: 5}.WithDefaults()
	if got := u.totalSubscribers(); got != 5 {
		t.Fatalf("unfiltered: %d subscribers, want 5", got)
	}
	for i := range 5 {
		if got := u.subscriberCell(i, id); got != "" {
			t.Errorf("unfiltered subscriber %d: cell %q", i, got)
		}
	}
	if err := (Config{Preset: "tiny", GlobalSubscribers: -1}).WithDefaults().Validate(); err == nil {
		t.Error("--global-subscribers -1 accepted")
	}
}

// TestCellPresenceTTL: the full preset gives its cells a minute, the others
// the rep's own TTL; --cell-presence-ttl must be whole seconds, at least 2 s.
func TestCellPresenceTTL(t *testing.T) {
	if c := (Config{Preset: "full", Dir: t.TempDir()}).WithDefaults(); c.CellPresenceTTL != time.Minute {
		t.Errorf("full preset's cell presence TTL %s, want 1m", c.CellPresenceTTL)
	}
	if c := (Config{Preset: "quick", Dir: t.TempDir()}).WithDefaults(); c.CellPresenceTTL != 0 {
		t.Errorf("quick preset's cell presence TTL %s, want the rep's (0)", c.CellPresenceTTL)
	}
	for _, ttl := range []time.Duration{time.Second, 2500 * time.Millisecond} {
		err := (Config{Preset: "tiny", Dir: t.TempDir(), CellPresenceTTL: ttl}).WithDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), "--cell-presence-ttl") {
			t.Errorf("--cell-presence-ttl %s: %v, want it refused by name", ttl, err)
		}
	}
	if err := (Config{Preset: "tiny", Dir: t.TempDir(), CellPresenceTTL: 30 * time.Second}).WithDefaults().Validate(); err != nil && strings.Contains(err.Error(), "--cell-presence-ttl") {
		t.Errorf("--cell-presence-ttl 30s refused: %v", err)
	}
}

// TestConvergenceInterval: the full preset converges every 30 s (the BBS's
// default), the others every 10 s; a flag overrides either; the report
// says which.
func TestConvergenceInterval(t *testing.T) {
	for _, tc := range []struct {
		preset string
		flag   time.Duration
		want   time.Duration
	}{{"full", 0, 30 * time.Second}, {"quick", 0, 10 * time.Second}, {"tiny", 0, 10 * time.Second}, {"full", 5 * time.Second, 5 * time.Second}} {
		c := (Config{Preset: tc.preset, Dir: t.TempDir(), ConvergenceInterval: tc.flag}).WithDefaults()
		if c.ConvergenceInterval != tc.want {
			t.Errorf("%s preset with --convergence-interval %s: %s, want %s", tc.preset, tc.flag, c.ConvergenceInterval, tc.want)
		}
	}
	var b strings.Builder
	if err := (&scalebench.Report{Preset: "full", ConvergenceInterval: 30 * time.Second}).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "convergence interval") || !strings.Contains(b.String(), "30s") {
		t.Errorf("the report does not give the convergence interval:\n%s", b.String())
	}
}

// TestBBSMemoryLimit: the full preset holds the BBS to 512 MiB, the others
// set no limit; the flag overrides either, a negative value with none.
func TestBBSMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		preset     string
		flag, want int
	}{{"full", 0, 512}, {"quick", 0, 0}, {"full", 700, 700}, {"full", -1, 0}, {"tiny", 256, 256}} {
		c := (Config{Preset: tc.preset, Dir: t.TempDir(), BBSMemoryLimitMB: tc.flag}).WithDefaults()
		if c.BBSMemoryLimitMB != tc.want {
			t.Errorf("%s preset with --bbs-memory-limit-mb %d: %d, want %d", tc.preset, tc.flag, c.BBSMemoryLimitMB, tc.want)
		}
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), "memory") {
			t.Errorf("%s preset with --bbs-memory-limit-mb %d refused: %v", tc.preset, tc.flag, err)
		}
	}
}
