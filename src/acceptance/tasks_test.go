package acceptance

import (
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

// taskDef is a task that downloads the sample app (so appDir exists on
// every backend) and runs script with /bin/sh in appDir.
func (e *env) taskDef(script, resultFile string) *models.TaskDefinition {
	return &models.TaskDefinition{
		RootFs:   e.cfg.RootFS,
		MemoryMb: 32,
		DiskMb:   64,
		Action: models.WrapAction(models.Serial(
			&models.DownloadAction{From: e.appURL, To: appDir, CacheKey: e.cacheKey, User: "vcap"},
			&models.RunAction{Path: "/bin/sh", Args: []string{"-c", script}, Dir: appDir, User: "vcap"},
		)),
		ResultFile: resultFile,
	}
}

// desireTask desires a task and cleans it up (cancel, resolve, delete) at
// the end of the test.
func (e *env) desireTask(t *testing.T, domain string, def *models.TaskDefinition) string {
	t.Helper()
	g := guid(t, "task")
	if err := e.client.DesireTask(e.logger, "", g, domain, def); err != nil {
		t.Fatalf("desiring task %s: %v", g, err)
	}
	t.Cleanup(func() {
		task, err := e.client.TaskByGuid(e.logger, "", g)
		if err != nil {
			return // deleted by the test
		}
		if task.State == models.Task_Pending || task.State == models.Task_Running {
			_ = e.client.CancelTask(e.logger, "", g)
		}
		_ = e.client.ResolvingTask(e.logger, "", g)
		_ = e.client.DeleteTask(e.logger, "", g)
	})
	return g
}

// waitTask waits until the task is in state and returns it.
func (e *env) waitTask(t *testing.T, g string, state models.Task_State, timeout time.Duration) *models.Task {
	t.Helper()
	var task *models.Task
	testutil.Eventually(t, timeout, "task "+g+" "+state.String(), func() (bool, string) {
		var err error
		task, err = e.client.TaskByGuid(e.logger, "", g)
		if err != nil {
			return false, err.Error()
		}
		return task.State == state, task.State.String() + " failure_reason=" + task.FailureReason
	})
	return task
}

func testTasks(t *testing.T, e *env) {
	t.Run("success with result, then resolve and delete", func(t *testing.T) {
		t.Parallel()
		d := e.domain(t)
		g := e.desireTask(t, d, e.taskDef("printf 'the answer is 42' > result.txt", appDir+"/result.txt"))
		task := e.waitTask(t, g, models.Task_Completed, 60*time.Second)
		if task.Failed || task.Result != "the answer is 42" {
			t.Fatalf("completed task: failed=%v reason=%q result=%q, want success with result %q%s", task.Failed, task.FailureReason, task.Result, "the answer is 42", e.taskLog(g))
		}
		if task.CellId != "" || task.Domain != d { // as in the reference, a completed task is on no cell
			t.Errorf("completed task: cell_id=%q domain=%q, want no cell", task.CellId, task.Domain)
		}
		if err := e.client.ResolvingTask(e.logger, "", g); err != nil {
			t.Fatalf("resolving: %v", err)
		}
		if task, err := e.client.TaskByGuid(e.logger, "", g); err != nil || task.State != models.Task_Resolving {
			t.Fatalf("after resolving: %v %v, want RESOLVING", task.GetState(), err)
		}
		if err := e.client.DeleteTask(e.logger, "", g); err != nil {
			t.Fatalf("deleting: %v", err)
		}
		if _, err := e.client.TaskByGuid(e.logger, "", g); errType(err) != models.Error_ResourceNotFound {
			t.Fatalf("after delete, TaskByGuid: %v, want ResourceNotFound", err)
		}
		tasks, err := e.client.TasksByDomain(e.logger, "", d)
		if err != nil || len(tasks) != 0 {
			t.Errorf("tasks left in the domain: %d (%v)", len(tasks), err)
		}
	})

	t.Run("failure with reason", func(t *testing.T) {
		t.Parallel()
		d := e.domain(t)
		g := e.desireTask(t, d, e.taskDef("echo failing on purpose >&2; exit 7", ""))
		task := e.waitTask(t, g, models.Task_Completed, 60*time.Second)
		if !task.Failed || !strings.Contains(task.FailureReason, "Exited with status 7") {
			t.Fatalf("failed task: failed=%v reason=%q, want failed with %q%s", task.Failed, task.FailureReason, "Exited with status 7", e.taskLog(g))
		}
	})

	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		d := e.domain(t)
		g := e.desireTask(t, d, e.taskDef("sleep 120", ""))
		e.waitTask(t, g, models.Task_Running, 60*time.Second)
		if err := e.client.CancelTask(e.logger, "", g); err != nil {
			t.Fatalf("cancelling: %v", err)
		}
		task, err := e.client.TaskByGuid(e.logger, "", g)
		if err != nil {
			t.Fatal(err)
		}
		if task.State != models.Task_Completed || !task.Failed || !strings.Contains(task.FailureReason, "cancel") {
			t.Fatalf("cancelled task: %s failed=%v reason=%q, want COMPLETED, failed, cancelled", task.State, task.Failed, task.FailureReason)
		}
		if err := e.client.CancelTask(e.logger, "", g); errType(err) != models.Error_InvalidStateTransition {
			t.Errorf("cancelling a completed task again: %v, want InvalidStateTransition", err)
		}
	})
}
