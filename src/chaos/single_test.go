//go:build chaos

package chaos

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/cluster"
	"github.com/diego-go/diego/src/internal/testutil"
)

// TestSingleCluster runs the scenarios that share one regular (non-HA)
// cluster of three cells, one after the other: the auctioneer killed
// mid-round, a cell frozen for 60 s, a full disk on a cell, two cells'
// clocks 30 s off. Each audits the cluster back to a settled state before
// the next starts.
func TestSingleCluster(t *testing.T) {
	dir := t.TempDir()
	c := Up(t, cluster.Options{Dir: dir, Cells: 3})
	diskCell := smallDisk(t, dir, "cell-3")
	c.DesireApp(t, "app", 3)
	t.Run("auctioneer killed mid-round", func(t *testing.T) { auctioneerKilled(t, c) })
	t.Run("cell frozen 60 s", func(t *testing.T) { cellFrozen(t, c) })
	t.Run("disk full on a cell", func(t *testing.T) { diskFull(t, c, diskCell) })
	t.Run("clock skew 30 s on a cell", func(t *testing.T) { clockSkew(t, c, dir) })
}

// auctioneerKilled kills the auctioneer with SIGKILL while it auctions a
// burst of start requests. The round is held open by a rep paused for a
// few seconds (well under its presence TTL): the auctioneer is waiting for
// that cell's state when it dies. The supervisor restarts it and the BBS's
// convergence re-auctions what the dead round never placed.
func auctioneerKilled(t *testing.T, c *Cluster) {
	load := c.StartLoad(t, "auction", "app")
	time.Sleep(3 * time.Second)
	restarts := c.Restarts("auctioneer")
	rounds := c.LogCount("auctioneer", `"msg":"auction round"`)
	resume, err := Freeze(c.CellPID("cell-3"), false)
	if err != nil {
		t.Fatal(err)
	}
	f := Fault{Start: time.Now()}
	if err := c.BBS.DesireLRP(lg, "", App("burst", 8, 0)); err != nil {
		resume()
		t.Fatalf("desiring the burst: %v", err)
	}
	for i := 0; i < 3; i++ {
		g := fmt.Sprintf("burst-task-%d", i)
		if err := c.BBS.DesireTask(lg, "", g, Domain, TaskDef()); err != nil {
			resume()
			t.Fatalf("desiring %s: %v", g, err)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	midRound := c.LogCount("auctioneer", `"msg":"auction round"`) == rounds
	killErr := Kill9(c.Target().PIDs["auctioneer"])
	f.End = time.Now()
	if err := resume(); err != nil {
		t.Error(err)
	}
	if killErr != nil {
		t.Fatal(killErr)
	}
	if !midRound {
		t.Logf("a round finished before the kill (the kill may have hit the next one, or none)")
	}
	testutil.Eventually(t, 30*time.Second, "the supervisor to restart the auctioneer", func() (bool, string) {
		return c.Restarts("auctioneer") > restarts, c.Out.String()
	})
	var placed time.Duration
	testutil.Eventually(t, 3*time.Minute, "the burst RUNNING", func() (bool, string) {
		n := len(c.Instances(t, "burst"))
		placed = time.Since(f.End)
		return n == 8, fmt.Sprintf("%d of 8", n)
	})
	c.Finish(t, "auctioneer killed mid-round", load, f, 2*time.Minute, map[string]string{
		"killed mid-round":          fmt.Sprint(midRound),
		"burst of 8 RUNNING after":  fmtDur(placed),
		"auctioneer restarts":       fmt.Sprint(c.Restarts("auctioneer") - restarts),
		"burst tasks (3) completed": burstTasks(t, c),
	})
	if err := c.BBS.RemoveDesiredLRP(lg, "", "burst"); err != nil {
		t.Errorf("removing the burst: %v", err)
	}
}

// burstTasks waits for the burst's tasks to complete and deletes them.
func burstTasks(t *testing.T, c *Cluster) string {
	failed := 0
	testutil.Eventually(t, 2*time.Minute, "the burst's tasks to complete", func() (bool, string) {
		done := 0
		for i := 0; i < 3; i++ {
			task, err := c.BBS.TaskByGuid(lg, "", fmt.Sprintf("burst-task-%d", i))
			if err != nil {
				return false, err.Error()
			}
			if task.State == models.Task_Completed {
				done++
			}
		}
		return done == 3, fmt.Sprintf("%d of 3 completed", done)
	})
	for i := 0; i < 3; i++ {
		g := fmt.Sprintf("burst-task-%d", i)
		if task, err := c.BBS.TaskByGuid(lg, "", g); err == nil && task.Failed {
			failed++
			t.Errorf("task %s failed: %s", g, task.FailureReason)
		}
		_ = c.BBS.ResolvingTask(lg, "", g)
		_ = c.BBS.DeleteTask(lg, "", g)
	}
	return fmt.Sprintf("3 (%d failed)", failed)
}

// cellFrozen stops a cell whole (its rep and its containers' processes)
// with SIGSTOP for 60 s, then resumes it. While it is frozen its instances
// are replaced on the other cells; once resumed, the cell drops the
// instances it no longer owns: no index RUNNING twice, no orphan.
func cellFrozen(t *testing.T, c *Cluster) {
	const cell = "cell-2"
	load := c.StartLoad(t, "frozen", "app")
	time.Sleep(5 * time.Second)
	resume, err := Freeze(c.CellPID(cell), true)
	if err != nil {
		t.Fatal(err)
	}
	f := Fault{Start: time.Now()}
	var replaced time.Duration
	replacedOK := false
	deadline := f.Start.Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if !replacedOK && allElsewhere(c, "app", cell) {
			replaced, replacedOK = time.Since(f.Start), true
		}
		time.Sleep(500 * time.Millisecond)
	}
	f.End = time.Now()
	if err := resume(); err != nil {
		t.Fatal(err)
	}
	if !replacedOK {
		t.Errorf("app's instances on the frozen %s were not replaced on the other cells within the 60 s", cell)
	}
	c.Finish(t, "cell frozen (SIGSTOP) 60 s", load, f, 2*time.Minute, map[string]string{
		"replacements RUNNING after": fmtDur(replaced),
	})
}

// allElsewhere reports whether every index of app is RUNNING on a cell
// other than cell.
func allElsewhere(c *Cluster, app, cell string) bool {
	lrps, err := c.BBS.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: app})
	if err != nil {
		return false
	}
	ok := map[int32]bool{}
	for _, l := range lrps {
		if l.State == models.ActualLRPStateRunning && l.CellId != cell {
			ok[l.Index] = true
		}
	}
	return len(ok) == 3
}

// logLines returns the lines of component's log containing substr, at most n.
func logLines(c *Cluster, component, substr string, n int) []string {
	var out []string
	for _, l := range strings.Split(readLog(c, component), "\n") {
		if strings.Contains(l, substr) && len(out) < n {
			out = append(out, l)
		}
	}
	return out
}
