//go:build chaos

package chaos

import (
	"testing"
	"time"

	"github.com/diego-go/diego/src/cluster"
)

// TestBaseline runs the load on an undisturbed cluster: the harness's own
// check (nothing lost, nothing down, the audit clean with no fault).
func TestBaseline(t *testing.T) {
	c := Up(t, cluster.Options{Cells: 2})
	c.DesireApp(t, "baseline-app", 2)
	load := c.StartLoad(t, "baseline", "baseline-app")
	time.Sleep(10 * time.Second)
	now := time.Now()
	c.Finish(t, "baseline (no fault)", load, Fault{Start: now, End: now}, time.Minute, nil)
}
