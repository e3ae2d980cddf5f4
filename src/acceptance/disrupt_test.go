package acceptance

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

// These groups disturb the cluster and run one at a time, after the
// others. They need the target file: pids and the cells' local URLs.

// untaggedCells are the cells an LRP without tags may use, per the BBS.
func (e *env) untaggedCells(t *testing.T) []string {
	var ids []string
	for id, c := range e.cellsByID(t) {
		if fits(c, nil) {
			ids = append(ids, id)
		}
	}
	return ids
}

// runningIndices counts the indices with a RUNNING instance, ORDINARY or
// EVACUATING.
func runningIndices(lrps []*models.ActualLRP) int {
	seen := map[int32]bool{}
	for _, l := range lrps {
		if l.State == models.ActualLRPStateRunning {
			seen[l.Index] = true
		}
	}
	return len(seen)
}

// spreadApp reads the target and runs an app with two instances per cell an
// untagged LRP may use (at least two cells), returning them RUNNING.
func (e *env) spreadApp(t *testing.T, group string, hostname string) (tg Target, g string, n int, lrps []*models.ActualLRP) {
	t.Helper()
	tg, err := e.target()
	if err != nil {
		t.Fatal(err)
	}
	cells := e.untaggedCells(t)
	if len(cells) < 2 {
		t.Fatalf("%s needs two cells an untagged LRP may use, have %v", group, cells)
	}
	g = guid(t, "app")
	n = 2 * len(cells)
	if hostname != "" {
		e.desire(t, e.routedLRP(g, e.domain(t), hostname, int32(n)))
	} else {
		e.desire(t, e.appLRP(g, e.domain(t), int32(n)))
	}
	return tg, g, n, e.waitRunning(t, g, n, 90*time.Second)
}

// testEvacuation evacuates a cell through its local API while polling the
// BBS every 75 ms: never fewer RUNNING instances than desired, and in the
// end every instance RUNNING on another cell and the cell gone.
func testEvacuation(t *testing.T, e *env) {
	// With the routes group on, the app is routed and the evacuated
	// instances' routes are checked: the replacement registered before
	// the evacuating instance is unregistered.
	var w *routeWatch
	hostname := ""
	if e.cfg.Enabled(GroupRoutes) {
		hostname = guid(t, "evacuated") + ".acceptance.diego"
		w = e.watchRoutes(t, hostname)
	}
	tg, g, n, lrps := e.spreadApp(t, "evacuation", hostname)

	victim := busiestCell(lrps, func(id string) bool { _, ok := tg.Cell(id); return ok })
	cell, ok := tg.Cell(victim)
	if !ok || cell.LocalURL == "" {
		t.Fatalf("cell %s has no local_url in the target file %s", victim, e.cfg.TargetFile)
	}
	t.Logf("evacuating %s (%d of %d instances) through %s", victim, countByCell(lrps)[victim], n, cell.LocalURL)

	// Every look at the BBS, the 75 ms sampler's and the wait's, checks
	// that no index lacks a RUNNING instance.
	var (
		mu            sync.Mutex
		fewest        = n
		fewestAt      string
		samples       int
		sawEvacuating bool
	)
	sample := func(all []*models.ActualLRP) {
		mu.Lock()
		defer mu.Unlock()
		samples++
		if r := runningIndices(all); r < fewest {
			fewest, fewestAt = r, describe(all)
		}
		for _, l := range all {
			sawEvacuating = sawEvacuating || l.Presence == models.ActualLRP_Evacuating
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(75 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if all, err := e.client.ActualLRPs(e.logger, "", models.ActualLRPFilter{ProcessGuid: g}); err == nil {
				sample(all)
			}
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()

	sample(e.actuals(t, g))
	resp, err := http.Post(strings.TrimRight(cell.LocalURL, "/")+"/evacuate", "application/json", nil)
	if err != nil {
		t.Fatalf("POST %s/evacuate: %v", cell.LocalURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST %s/evacuate: %s, want 202", cell.LocalURL, resp.Status)
	}
	start := time.Now()
	testutil.Eventually(t, 120*time.Second, "every instance RUNNING off the evacuated cell", func() (bool, string) {
		all := e.actuals(t, g)
		sample(all)
		return runningOff(all, n, victim)
	})
	moved := time.Since(start)
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if fewest < n {
		t.Errorf("during evacuation only %d of %d instances were RUNNING (of %d samples), at: %s", fewest, n, samples, fewestAt)
	}
	t.Logf("instances moved off %s in %s; %d samples, never fewer than %d RUNNING; EVACUATING copies seen: %v", victim, moved.Round(time.Millisecond), samples, fewest, sawEvacuating)
	expectHello(t, e.actuals(t, g))
	if w != nil {
		e.checkEvacuatedRoutes(t, w, lrps, e.actuals(t, g), victim, start)
	}

	testutil.Eventually(t, 60*time.Second, "the evacuated cell leaves", func() (bool, string) {
		_, there := e.cellsByID(t)[victim]
		return !there, "still in the BBS's cells"
	})
}

// testBBSRestart stops the BBS with SIGTERM (diego up starts it again) and
// checks that nothing was lost: domain, desired LRP, running instances,
// task.
func testBBSRestart(t *testing.T, e *env) {
	tg, err := e.target()
	if err != nil {
		t.Fatal(err)
	}
	pid := tg.PIDs["bbs"]
	if pid <= 0 {
		t.Fatalf("no pids.bbs in the target file %s", e.cfg.TargetFile)
	}
	d := e.domain(t)
	g := guid(t, "app")
	e.desire(t, e.appLRP(g, d, 2))
	lrps := e.waitRunning(t, g, 2, 90*time.Second)
	task := e.desireTask(t, d, e.taskDef("printf kept > result.txt", appDir+"/result.txt"))
	if tk := e.waitTask(t, task, models.Task_Completed, 60*time.Second); tk.Failed || tk.Result != "kept" {
		t.Errorf("task before the restart: failed=%v reason=%q result=%q, want result %q%s", tk.Failed, tk.FailureReason, tk.Result, "kept", e.taskLog(task))
	}
	desired, err := e.client.DesiredLRPByProcessGuid(e.logger, "", g)
	if err != nil {
		t.Fatal(err)
	}
	taskBefore, err := e.client.TaskByGuid(e.logger, "", task)
	if err != nil {
		t.Fatal(err)
	}

	t.Logf("SIGTERM to the BBS (pid %d)", pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("signalling the BBS: %v", err)
	}
	start := time.Now()
	testutil.Eventually(t, 30*time.Second, "the BBS stops", func() (bool, string) {
		return syscall.Kill(pid, 0) != nil, fmt.Sprintf("pid %d alive", pid)
	})
	testutil.Eventually(t, 60*time.Second, "a new BBS in the target file, answering", func() (bool, string) {
		tg, err := e.target()
		if err != nil {
			return false, err.Error()
		}
		if tg.PIDs["bbs"] == pid || tg.PIDs["bbs"] == 0 {
			return false, fmt.Sprintf("pids.bbs = %d", tg.PIDs["bbs"])
		}
		if !e.client.Ping(e.logger, "") {
			return false, "new BBS does not answer /v1/ping yet"
		}
		return true, ""
	})
	t.Logf("BBS back in %s", time.Since(start).Round(time.Millisecond))

	domains, err := e.client.Domains(e.logger, "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range domains {
		found = found || x == d
	}
	if !found {
		t.Errorf("domain %s lost across the restart (have %v)", d, domains)
	}
	after, err := e.client.DesiredLRPByProcessGuid(e.logger, "", g)
	if err != nil {
		t.Fatalf("desired LRP lost across the restart: %v", err)
	}
	run, _ := after.Action.GetValue().(*models.RunAction)
	if after.Instances != desired.Instances || !after.ModificationTag.Equal(desired.ModificationTag) ||
		run == nil || run.Path != appDir+"/sample-app" {
		t.Errorf("desired LRP changed across the restart: before %v, after %v", desired, after)
	}
	if tk, err := e.client.TaskByGuid(e.logger, "", task); err != nil {
		t.Errorf("task lost across the restart: %v", err)
	} else if before := taskBefore; tk.State != before.State || tk.Failed != before.Failed || tk.Result != before.Result || tk.FailureReason != before.FailureReason {
		t.Errorf("task changed across the restart: before %s failed=%v result=%q reason=%q, after %s failed=%v result=%q reason=%q",
			before.State, before.Failed, before.Result, before.FailureReason, tk.State, tk.Failed, tk.Result, tk.FailureReason)
	}
	now := e.waitRunning(t, g, 2, 30*time.Second)
	for i, l := range now {
		if l.InstanceGuid != lrps[i].InstanceGuid {
			t.Errorf("instance %d replaced across the BBS restart (%s -> %s)", i, lrps[i].InstanceGuid, l.InstanceGuid)
		}
	}
	expectHello(t, now)
}

// testRepKill SIGKILLs a rep holding instances and expects them RUNNING on
// the other cells within 30 s (the cell's presence expires, convergence
// re-places). Runs last: the cell does not come back.
func testRepKill(t *testing.T, e *env) {
	tg, g, n, lrps := e.spreadApp(t, "rep_kill", "")
	victim := busiestCell(lrps, func(id string) bool { c, ok := tg.Cell(id); return ok && c.PID > 0 })
	cell, ok := tg.Cell(victim)
	if !ok {
		t.Fatalf("no cell with instances and a pid in the target file; instances: %s", describe(lrps))
	}
	t.Logf("SIGKILL to the rep of %s (pid %d, %d of %d instances)", victim, cell.PID, countByCell(lrps)[victim], n)
	if err := syscall.Kill(cell.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the rep: %v", err)
	}
	start := time.Now()
	testutil.Eventually(t, 45*time.Second, "every instance RUNNING off the killed cell", func() (bool, string) {
		return runningOff(e.actuals(t, g), n, victim)
	})
	took := time.Since(start)
	if took > 30*time.Second {
		t.Errorf("instances RUNNING elsewhere %s after the rep was killed, want within 30s", took.Round(time.Millisecond))
	}
	t.Logf("instances RUNNING elsewhere %s after the SIGKILL", took.Round(time.Millisecond))
	expectHello(t, e.actuals(t, g))
}

// runningOff reports whether all is exactly n RUNNING instances, none of
// them on cell, and describes all when it is not.
func runningOff(all []*models.ActualLRP, n int, cell string) (bool, string) {
	if !running(all, n) || slices.ContainsFunc(all, func(l *models.ActualLRP) bool { return l.CellId == cell }) {
		return false, describe(all)
	}
	return true, ""
}
