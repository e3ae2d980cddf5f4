package scalerun

import (
	"fmt"
	"testing"
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
