package wallclock

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "30s": 30 * time.Second, "-30s": -30 * time.Second, "24h": MaxOffset} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"30", "soon", "25h", "-25h"} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), EnvOffset) {
			t.Errorf("Parse(%q) = %v; want an error naming %s", in, err, EnvOffset)
		}
	}
}

// TestNowMoves runs in a fresh process state: the variable is read once.
func TestNowMoves(t *testing.T) {
	t.Setenv(EnvOffset, "-90s")
	once = sync.Once{}
	d, err := Check()
	if err != nil || d != -90*time.Second {
		t.Fatalf("Check() = %s, %v", d, err)
	}
	before := time.Now()
	got := Now()
	after := time.Now()
	if got.Before(before.Add(-90*time.Second)) || got.After(after.Add(-90*time.Second)) {
		t.Errorf("Now() = %s with -90s; the system clock read %s", got, before)
	}
	t.Setenv(EnvOffset, "later")
	once = sync.Once{}
	if _, err := Check(); err == nil {
		t.Fatal("a bad offset was accepted")
	}
	if before, got := time.Now(), Now(); got.Before(before) {
		t.Errorf("Now() with a refused offset = %s; want the system clock", got)
	}
	t.Cleanup(func() { once = sync.Once{} })
}
