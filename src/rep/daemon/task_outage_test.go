package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/faultproxy"
)

// outageCell is a cell whose BBS connections go through a proxy the test
// can cut.
func outageCell(t *testing.T, cellID string) (*cellFixture, *faultproxy.Proxy) {
	h := newBBS(t)
	proxy, err := faultproxy.New(strings.TrimPrefix(h.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	return addCell(t, h, cellID, func(c *Settings, _ *Options) { c.BBSAddress = "https://" + proxy.Addr() }), proxy
}

// TestTaskCompletesAcrossBBSOutage: a task that ends while the BBS does
// not answer is reported once it does, with its result, rather than
// failed by the next bulk sync as a task whose container is gone (seen in
// the chaos suite's database outage: "task container does not exist").
func TestTaskCompletesAcrossBBSOutage(t *testing.T) {
	f, proxy := outageCell(t, "cell-task-outage")
	goFile := filepath.Join(t.TempDir(), "go")
	f.placeTask(t, "task-outage", taskDef("while [ ! -e "+goFile+" ]; do sleep 0.1; done; echo done > result.txt", "/result.txt"))
	f.waitTask(t, "task-outage", models.Task_Running)
	eventually(t, "the task's container", func() (bool, string) {
		_, err := f.d.backend.Lookup(t.Context(), "task-outage")
		return err == nil, "no container yet" // the rep has the definition
	})

	proxy.Cut(faultproxy.Refuse)
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the task's container to be destroyed (its action ended)", func() (bool, string) {
		_, err := f.d.backend.Lookup(t.Context(), "task-outage")
		return err != nil, "the container still exists"
	})
	// Bulk sync passes (every second) fail against the cut BBS meanwhile,
	// and so do the rep's first reports of the task's end.
	time.Sleep(3 * time.Second)
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	task := f.waitTask(t, "task-outage", models.Task_Completed)
	if task.Failed || task.Result != "done\n" {
		t.Fatalf("after the outage the task completed failed=%v reason %q result %q; want it succeeded with %q", task.Failed, task.FailureReason, task.Result, "done\n")
	}
	f.waitTaskGone(t, "task-outage")
}

// TestCrashReportedAcrossBBSOutage: an instance that crashes while the BBS
// does not answer is reported crashed once it does (crash count 1, the
// reason kept), rather than removed by the next bulk sync as an instance
// whose container is gone (which loses the crash and its backoff).
func TestCrashReportedAcrossBBSOutage(t *testing.T) {
	f, proxy := outageCell(t, "cell-crash-outage")
	dir := t.TempDir()
	goFile, crashed := filepath.Join(dir, "go"), filepath.Join(dir, "crashed")
	desired := sleeper("pg-crash-outage")
	// It crashes once, when told to; restarted, it runs.
	desired.Action = models.WrapAction(&models.RunAction{Path: "/bin/sh", User: "vcap", Args: []string{"-c",
		"if [ -e " + crashed + " ]; then exec sleep 600; fi; while [ ! -e " + goFile + " ]; do sleep 0.1; done; touch " + crashed + "; exit 3"}})
	f.desireAndPlace(t, desired, "ig-crash-outage")
	f.waitRunning(t, "pg-crash-outage", "ig-crash-outage")

	proxy.Cut(faultproxy.Refuse)
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the crashed instance's container to be destroyed", func() (bool, string) {
		_, err := f.d.backend.Lookup(t.Context(), "ig-crash-outage")
		return err != nil, "the container still exists"
	})
	time.Sleep(3 * time.Second) // bulk sync passes and the first reports fail meanwhile
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the crash to be recorded", func() (bool, string) {
		lrps := f.actual(t, "pg-crash-outage")
		if len(lrps) != 1 {
			return false, fmt.Sprintf("%d actual LRPs", len(lrps))
		}
		l := lrps[0]
		return l.CrashCount == 1 && strings.Contains(l.CrashReason, "Exited with status 3"), l.String()
	})
}
