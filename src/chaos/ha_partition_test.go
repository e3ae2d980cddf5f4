//go:build chaos

package chaos

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

// convergenceInterval is the BBS's convergence_repeat_interval in
// `diego up` (src/cluster/configs.go).
const convergenceInterval = 5 * time.Second

// cellPartitioned cuts the cell running most of app's instances off the
// BBS and Locket (iptables in its network namespace) for 60 s under load,
// then heals it. Its instances must be RUNNING elsewhere within 30 s;
// once it is back, no process may have more RUNNING instances than
// desired for longer than one convergence interval, and none is left
// over (issue 17).
func cellPartitioned(t *testing.T, c *Cluster) {
	tgt := c.Target()
	if tgt.Cells[0].Netns == "" {
		t.Fatalf("the cells are not in network namespaces of their own (diego up --ha gives them namespaces as root, process backend): run make test-chaos as root\n%s", c.Out)
	}
	victim, on := busiestCell(t, c, "app")
	load := c.StartLoad(t, "ha-part", "app")
	time.Sleep(2 * time.Second)
	f := Fault{Start: time.Now()}
	if err := c.C.Partition(victim); err != nil {
		t.Fatal(err)
	}
	healed := false
	heal := func() {
		if !healed {
			healed = true
			if err := c.C.Heal(victim); err != nil {
				t.Error(err)
			}
		}
	}
	defer heal()
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("indices %v of app RUNNING on another cell than %s", on, victim), func() (bool, string) {
		return runningElsewhere(c, "app", victim, on)
	})
	moved := time.Since(f.Start)
	time.Sleep(time.Until(f.Start.Add(60 * time.Second)))
	if err := syscall.Kill(c.CellPID(victim), 0); err != nil {
		t.Errorf("the partitioned cell's rep died: %v", err)
	}
	heal()
	f.End = time.Now()
	// Watch for over-running processes until the cell is back and none
	// has over-run for two convergence intervals (the load's own fresh
	// LRPs, not yet RUNNING, are the Finish audit's business).
	var overSince time.Time
	var longest time.Duration
	var lastOver, lastProblems string
	back := false
	clean := time.Time{}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		problems, err := CheckConverged(c.Target(), c.BBS)
		if err != nil {
			continue
		}
		over := overRunning(problems)
		now := time.Now()
		if p := strings.Join(problems, "; "); p != lastProblems {
			t.Logf("%s after the heal: %s", fmtDur(now.Sub(f.End)), p)
			lastProblems = p
		}
		switch {
		case len(over) > 0 && overSince.IsZero():
			overSince, lastOver = now, strings.Join(over, "; ")
		case len(over) > 0:
			lastOver = strings.Join(over, "; ")
		case !overSince.IsZero():
			longest = max(longest, now.Sub(overSince))
			overSince = time.Time{}
		}
		if !back {
			cells, err := c.BBS.Cells(lg, "")
			back = err == nil && hasCell(cells, victim)
		}
		if back && len(over) == 0 {
			if clean.IsZero() {
				clean = now
			}
			if now.Sub(clean) > 2*convergenceInterval {
				break
			}
		} else {
			clean = time.Time{}
		}
	}
	if !overSince.IsZero() {
		longest = max(longest, time.Since(overSince))
	}
	if !back {
		t.Errorf("%s did not come back within two minutes of the heal", victim)
	}
	if longest > convergenceInterval {
		t.Errorf("after the heal a process had more RUNNING instances than desired for %s (> one convergence interval, %s): %s", longest, convergenceInterval, lastOver)
	}
	figure(t, "cell partitioned 60 s (HA)", "running_elsewhere_after="+fmtDur(moved), "over_desired_after_heal="+fmtDur(longest))
	c.Finish(t, "cell partitioned 60 s (HA)", load, f, 2*time.Minute, map[string]string{
		"instances moved":                   fmt.Sprint(len(on)),
		"RUNNING elsewhere after":           fmtDur(moved),
		"over desired after heal (longest)": fmtDur(longest),
	})
}

// busiestCell is the cell running most of app's instances, and their
// indices.
func busiestCell(t *testing.T, c *Cluster, app string) (string, []int32) {
	t.Helper()
	lrps, err := c.BBS.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: app})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]int32{}
	best := ""
	for _, l := range lrps {
		if l.State == models.ActualLRPStateRunning {
			by[l.CellId] = append(by[l.CellId], l.Index)
			if best == "" || len(by[l.CellId]) > len(by[best]) {
				best = l.CellId
			}
		}
	}
	if best == "" {
		t.Fatalf("no instance of %s RUNNING", app)
	}
	return best, by[best]
}

// runningElsewhere says whether each of indices has a RUNNING instance
// on a cell other than cell.
func runningElsewhere(c *Cluster, app, cell string, indices []int32) (bool, string) {
	lrps, err := c.BBS.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: app})
	if err != nil {
		return false, err.Error()
	}
	ok := map[int32]bool{}
	var states []string
	for _, l := range lrps {
		states = append(states, fmt.Sprintf("%d:%s@%s", l.Index, l.State, l.CellId))
		if l.State == models.ActualLRPStateRunning && l.CellId != cell {
			ok[l.Index] = true
		}
	}
	for _, i := range indices {
		if !ok[i] {
			return false, strings.Join(states, " ")
		}
	}
	return true, ""
}

// overRunning keeps the problems that mean more RUNNING than desired: an
// index RUNNING twice, in the BBS or in containers, or a RUNNING container
// the BBS does not know.
func overRunning(problems []string) []string {
	var out []string
	for _, p := range problems {
		if strings.Contains(p, "RUNNING in containers on") || strings.Contains(p, "times in the BBS") ||
			strings.HasPrefix(p, "orphan container") && strings.Contains(strings.ToUpper(p), "(RUNNING)") {
			out = append(out, p)
		}
	}
	return out
}

func hasCell(cells []*models.CellPresence, id string) bool {
	for _, c := range cells {
		if c.CellId == id {
			return true
		}
	}
	return false
}
