package reconcile

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestSpread: the wait before a rep's second sync lies in [interval/2,
// 3·interval/2), and 1,200 reps started together spread their second
// syncs over the whole window: no second of it holds more than a few
// percent of them.
func TestSpread(t *testing.T) {
	const interval = 30 * time.Second
	for _, tc := range []struct {
		u    float64
		want time.Duration
	}{{0, 15 * time.Second}, {0.5, 30 * time.Second}, {-1, 15 * time.Second}, {2, 45 * time.Second}} {
		if got := Spread(interval, tc.u); got != tc.want {
			t.Errorf("Spread(30s, %v) = %v, want %v", tc.u, got, tc.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	perSecond := map[int]int{}
	for range 1200 {
		d := Spread(interval, r.Float64())
		if d < interval/2 || d >= interval*3/2 {
			t.Fatalf("Spread gave %v, outside [15s, 45s)", d)
		}
		perSecond[int(d/time.Second)]++
	}
	for s, n := range perSecond {
		if n > 80 { // 40 expected a second
			t.Errorf("%d of 1,200 second syncs fall in second %d", n, s)
		}
	}
	if len(perSecond) != 30 {
		t.Errorf("second syncs fall in %d distinct seconds, want all 30", len(perSecond))
	}
}
