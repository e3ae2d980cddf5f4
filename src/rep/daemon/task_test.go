package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/cell"
)

// placeTask desires a task and places it on the cell through the rep
// client, as the auctioneer would.
func (f *cellFixture) placeTask(t *testing.T, guid string, def *models.TaskDefinition) {
	t.Helper()
	if err := f.h.Client.DesireTask(f.h.Log, "", guid, "test", def); err != nil {
		t.Fatalf("desiring task: %v", err)
	}
	rejected, err := f.rc.Perform(f.h.Log, rep.Work{Tasks: []rep.Task{rep.NewTask(guid, "test",
		rep.NewResource(def.MemoryMb, def.DiskMb, 0), rep.NewPlacementConstraint(def.RootFs, nil, nil))}})
	if err != nil || len(rejected.Tasks) != 0 {
		t.Fatalf("perform: rejected %+v, %v", rejected, err)
	}
}

func (f *cellFixture) waitTask(t *testing.T, guid string, state models.Task_State) *models.Task {
	t.Helper()
	var task *models.Task
	eventually(t, "task "+guid+" to be "+state.String(), func() (bool, string) {
		var err error
		if task, err = f.h.Client.TaskByGuid(f.h.Log, "", guid); err != nil {
			return false, err.Error()
		}
		return task.State == state, task.State.String()
	})
	return task
}

func (f *cellFixture) waitTaskGone(t *testing.T, guid string) {
	t.Helper()
	eventually(t, "task "+guid+" to leave the cell", func() (bool, string) {
		if _, ok := f.d.Ledger().Get(cell.KindTask, guid); ok {
			return false, "still reserved"
		}
		f.d.mu.Lock()
		_, ok := f.d.tasks[guid]
		f.d.mu.Unlock()
		if ok {
			return false, "still running"
		}
		if _, err := f.d.backend.Lookup(t.Context(), guid); err == nil {
			return false, "container still exists"
		}
		return true, ""
	})
}

func taskDef(script, resultFile string) *models.TaskDefinition {
	return &models.TaskDefinition{
		RootFs: "preloaded:cflinuxfs4", MemoryMb: 64, DiskMb: 64, ResultFile: resultFile,
		Action: models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", script}, Dir: "/", User: "vcap"}),
	}
}

// TestTaskSucceedsWithResult: a task runs to COMPLETED with the first
// 10 KB of its result_file as its result, and leaves nothing on the cell.
func TestTaskSucceedsWithResult(t *testing.T) {
	f := newCell(t)
	// 12 KB: "head" then 12,284 'x'
	f.placeTask(t, "task-ok", taskDef(`printf head > result.txt; head -c 12284 /dev/zero | tr '\0' x >> result.txt`, "/result.txt"))
	task := f.waitTask(t, "task-ok", models.Task_Completed)
	if task.Failed {
		t.Fatalf("task failed: %s", task.FailureReason)
	}
	if len(task.Result) != MaxResultBytes || !strings.HasPrefix(task.Result, "headxxx") {
		t.Fatalf("result: %d bytes starting %q", len(task.Result), task.Result[:min(len(task.Result), 10)])
	}
	if task.CellId != "" { // as in the reference, a completed task is on no cell
		t.Fatalf("completed task still on cell %q", task.CellId)
	}
	f.waitTaskGone(t, "task-ok")
}

// TestTaskFails: a task whose action exits non-zero completes failed with
// the exit status as its reason; a missing result file fails it too.
func TestTaskFails(t *testing.T) {
	f := newCell(t)
	f.placeTask(t, "task-exit", taskDef("exit 7", ""))
	f.placeTask(t, "task-noresult", taskDef("true", "/missing.txt"))
	task := f.waitTask(t, "task-exit", models.Task_Completed)
	if !task.Failed || !strings.Contains(task.FailureReason, "Exited with status 7") {
		t.Fatalf("task-exit: failed=%v reason=%q", task.Failed, task.FailureReason)
	}
	task = f.waitTask(t, "task-noresult", models.Task_Completed)
	if !task.Failed || !strings.Contains(task.FailureReason, "result_file") {
		t.Fatalf("task-noresult: failed=%v reason=%q", task.Failed, task.FailureReason)
	}
	f.waitTaskGone(t, "task-exit")
	f.waitTaskGone(t, "task-noresult")
}

// TestTaskCancel: cancelling a running task through the BBS reaches the
// rep, which destroys the container without overwriting the BBS's
// "cancelled" outcome.
func TestTaskCancel(t *testing.T) {
	f := newCell(t)
	f.placeTask(t, "task-cancel", taskDef("sleep 60", ""))
	f.waitTask(t, "task-cancel", models.Task_Running)
	eventually(t, "the task's container", func() (bool, string) {
		_, err := f.d.backend.Lookup(t.Context(), "task-cancel")
		return err == nil, "no container yet"
	})
	if err := f.h.Client.CancelTask(f.h.Log, "", "task-cancel"); err != nil {
		t.Fatalf("cancelling: %v", err)
	}
	f.waitTaskGone(t, "task-cancel")
	task := f.waitTask(t, "task-cancel", models.Task_Completed)
	if !task.Failed || !strings.Contains(task.FailureReason, "cancel") {
		t.Fatalf("cancelled task: failed=%v reason=%q", task.Failed, task.FailureReason)
	}
	// The rep API answers 404 for a task it does not run.
	if err := f.rc.CancelTask(f.h.Log, "no-such-task"); err == nil {
		t.Fatal("cancelling an unknown task succeeded")
	}
}

// TestContainerLogDir: with container_log_dir, an instance's output lands
// in DIR/<process_guid>/<index>.log and a task's in DIR/tasks/<guid>.log.
func TestContainerLogDir(t *testing.T) {
	logDir := t.TempDir()
	f := addCell(t, newBBS(t), "cell-logs", func(c *Settings, _ *Options) { c.ContainerLogDir = logDir })
	d := sleeper("pg-logs")
	d.Action = models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "echo out-line; echo err-line >&2; exec sleep 600"}, User: "vcap"})
	f.desireAndPlace(t, d, "ig-logs")
	f.placeTask(t, "task-logs", taskDef("echo task-line", ""))
	eventually(t, "the instance's and the task's log files", func() (bool, string) {
		lrp, _ := os.ReadFile(filepath.Join(logDir, "pg-logs", "0.log"))
		task, _ := os.ReadFile(filepath.Join(logDir, "tasks", "task-logs.log"))
		ok := strings.Contains(string(lrp), "out-line") && strings.Contains(string(lrp), "err-line") &&
			strings.Contains(string(task), "task-line")
		return ok, fmt.Sprintf("instance %q, task %q", lrp, task)
	})
}
