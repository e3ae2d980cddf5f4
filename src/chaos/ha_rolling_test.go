//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

// rollingRestart restarts every component one instance at a time, as a
// `bosh deploy` does (max_in_flight 1, each back before the next): each
// Locket, BBS and auctioneer, the route emitter, the file server and the
// SSH proxy get SIGTERM and are started again by the supervisor (as monit
// would); each cell is drained (POST /evacuate: its instances are replaced
// elsewhere before its rep exits) and started again. Under load, the
// writer's client (three tries half a second apart over both BBS, as the
// reference client retries) must see no failed request, and no index of
// the app may lack a RUNNING instance at any time (issue 17).
func rollingRestart(t *testing.T, c *Cluster) {
	load := c.StartLoad(t, "ha-roll", "app")
	time.Sleep(2 * time.Second)
	desired := int32(3)
	var mu sync.Mutex
	minRunning, lowAt := int(desired), ""
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the app's RUNNING indices, four times a second
		defer wg.Done()
		for ctx.Err() == nil {
			if lrps, err := c.BBS.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: "app"}); err == nil {
				idx := map[int32]bool{}
				var states []string
				for _, l := range lrps {
					states = append(states, fmt.Sprintf("%d:%s@%s", l.Index, l.State, l.CellId))
					if l.State == models.ActualLRPStateRunning && l.Index < desired {
						idx[l.Index] = true
					}
				}
				mu.Lock()
				if len(idx) < minRunning {
					minRunning, lowAt = len(idx), strings.Join(states, " ")
				}
				mu.Unlock()
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	f := Fault{Start: time.Now()}
	var steps []string
	for _, name := range []string{"locket", "locket-z2", "bbs", "bbs-z2", "auctioneer", "auctioneer-z2", "route-emitter", "file-server", "ssh-proxy"} {
		start := time.Now()
		restarts := c.Restarts(name)
		if err := syscall.Kill(c.Target().PIDs[name], syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM to %s: %v", name, err)
		}
		testutil.Eventually(t, 60*time.Second, name+" restarted", func() (bool, string) { return c.Restarts(name) > restarts, c.Out.String() })
		c.serving(t, 30*time.Second)
		steps = append(steps, fmt.Sprintf("%s %s", name, fmtDur(time.Since(start))))
	}
	for _, cell := range c.Target().Cells {
		start := time.Now()
		if err := c.C.RestartCell(context.Background(), cell.CellID); err != nil {
			t.Fatalf("restarting %s: %v", cell.CellID, err)
		}
		testutil.Eventually(t, 60*time.Second, cell.CellID+" registered again", func() (bool, string) {
			cells, err := c.BBS.Cells(lg, "")
			return err == nil && hasCell(cells, cell.CellID), fmt.Sprint(err)
		})
		steps = append(steps, fmt.Sprintf("%s %s", cell.CellID, fmtDur(time.Since(start))))
	}
	f.End = time.Now()
	stop()
	wg.Wait()
	failed := 0
	for _, op := range load.Log.Ops() {
		if !op.Acked {
			failed++
		}
	}
	if failed > 0 {
		t.Errorf("%d requests failed during the rolling restart (the reference client's retries did not cover them)", failed)
	}
	if minRunning < int(desired) {
		t.Errorf("app had %d of %d indices RUNNING at one point: %s", minRunning, desired, lowAt)
	}
	figure(t, "rolling restart (HA)", fmt.Sprintf("failed_requests=%d", failed), fmt.Sprintf("min_running=%d/%d", minRunning, desired))
	c.Finish(t, "rolling restart (HA)", load, f, 2*time.Minute, map[string]string{
		"failed requests":             fmt.Sprint(failed),
		"app RUNNING (min)":           fmt.Sprintf("%d of %d", minRunning, desired),
		"restart, each (1 at a time)": strings.Join(steps, ", "),
	})
}
