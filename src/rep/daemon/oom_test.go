package daemon

import (
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// memoryHog grows the shell past a 16 MB limit, so the backend kills it
// out of memory.
var memoryHog = &models.RunAction{Path: "/bin/sh", Args: []string{"-c", `x=$(head -c 200000000 /dev/zero | tr '\0' x); echo ${#x}`}, Dir: "/", User: "vcap"}

// TestOutOfMemoryReason: as in the reference, " (out of memory)" follows
// the non-zero exit of a run step in a container the backend OOM-killed,
// and no other failure: a timeout after an OOM kill a try step swallowed
// is only the timeout.
func TestOutOfMemoryReason(t *testing.T) {
	f := newCell(t)
	hog := taskDef("", "")
	hog.MemoryMb, hog.Action = 16, models.WrapAction(memoryHog)
	f.placeTask(t, "task-oom", hog)

	after := taskDef("", "")
	after.MemoryMb = 16
	after.Action = models.WrapAction(models.Serial(
		models.Try(memoryHog),
		models.Timeout(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "sleep 30"}, Dir: "/", User: "vcap"}, 300*time.Millisecond),
	))
	f.placeTask(t, "task-oom-timeout", after)

	task := f.waitTask(t, "task-oom", models.Task_Completed)
	if !task.Failed || !strings.Contains(task.FailureReason, "Exited with status") || !strings.HasSuffix(task.FailureReason, " (out of memory)") {
		t.Errorf("task-oom: failed=%v reason=%q, want a run step's exit (out of memory)", task.Failed, task.FailureReason)
	}
	task = f.waitTask(t, "task-oom-timeout", models.Task_Completed)
	if !task.Failed || !strings.Contains(task.FailureReason, "exceeded 300ms timeout") || strings.Contains(task.FailureReason, "out of memory") {
		t.Errorf("task-oom-timeout: failed=%v reason=%q, want the timeout alone", task.Failed, task.FailureReason)
	}
}
