package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/faultproxy"
)

// TestTaskCompletesAcrossBBSOutage: a task that ends while the BBS does
// not answer is reported once it does, with its result, rather than
// failed by the next bulk sync as a task whose container is gone (seen in
// the chaos suite's database outage: "task container does not exist").
func TestTaskCompletesAcrossBBSOutage(t *testing.T) {
	h := newBBS(t)
	proxy, err := faultproxy.New(strings.TrimPrefix(h.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	f := addCell(t, h, "cell-task-outage", func(c *Settings, _ *Options) {
		c.BBSAddress = "https://" + proxy.Addr()
	})
	goFile := filepath.Join(t.TempDir(), "go")
	f.placeTask(t, "task-outage", taskDef("while [ ! -e "+goFile+" ]; do sleep 0.1; done; echo done > result.txt", "/result.txt"))
	f.waitTask(t, "task-outage", models.Task_Running)

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
