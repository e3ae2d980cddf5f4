package scalerun

import (
	"testing"

	"github.com/diego-go/diego/src/scalebench"
)

// A steady state in which the BBS served no request fails its latency
// check instead of passing with a p99 of 0.
func TestSteadyCheckNeedsRequests(t *testing.T) {
	for _, tc := range []struct {
		count uint64
		p99   float64
		pass  bool
	}{{0, 0, false}, {240, 0.05, true}, {240, 0.2, false}} {
		rep := &scalebench.Report{LatencySteady: []scalebench.Latency{{Label: "all routes", Count: tc.count, P99: tc.p99}}}
		var found bool
		for _, c := range checks(rep) {
			if c.Name == "BBS p99 at steady state (all routes)" {
				found = true
				if c.Pass != tc.pass {
					t.Errorf("count %d p99 %v: pass %v (got %q), want %v", tc.count, tc.p99, c.Pass, c.Got, tc.pass)
				}
			}
		}
		if !found {
			t.Errorf("count %d: no steady-state check", tc.count)
		}
	}
}
