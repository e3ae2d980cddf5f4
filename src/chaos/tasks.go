package chaos

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
)

// TaskRunner desires a short task at an interval, recording each desire in
// the shared WriteLog, and resolves and deletes the completed ones,
// counting completions (the task's owner's part, as Cloud Controller's).
type TaskRunner struct {
	Log    *WriteLog
	cl     bbs.Client
	prefix string
	every  time.Duration
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	completed map[string]bool // deleted after completing
	failed    int
	reasons   map[string]int // failure reasons of the failed tasks
}

// StartTaskRunner desires one task (`/bin/sh -c true`) every interval
// (default 1 s), guids starting with prefix.
func StartTaskRunner(cl bbs.Client, log *WriteLog, prefix string, every time.Duration) *TaskRunner {
	if every == 0 {
		every = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &TaskRunner{Log: log, cl: cl, prefix: prefix, every: every, cancel: cancel, done: make(chan struct{}), completed: map[string]bool{}, reasons: map[string]int{}}
	go r.run(ctx)
	return r
}

// TaskDef is the task the runner desires.
func TaskDef() *models.TaskDefinition {
	return &models.TaskDefinition{
		RootFs: "preloaded:cflinuxfs4", MemoryMb: 16, DiskMb: 16,
		Action: models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "true"}, User: "vcap"}),
	}
}

// Stop stops desiring and resolving.
func (r *TaskRunner) Stop() {
	r.cancel()
	<-r.done
}

// Completed returns the guids of the tasks that completed (and were
// deleted) and how many of them failed.
func (r *TaskRunner) Completed() (map[string]bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]bool, len(r.completed))
	for g := range r.completed {
		out[g] = true
	}
	return out, r.failed
}

// FailureReasons counts the failed tasks' failure reasons.
func (r *TaskRunner) FailureReasons() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.reasons {
		out[k] = v
	}
	return out
}

func (r *TaskRunner) run(ctx context.Context) {
	defer close(r.done)
	for n := 1; ctx.Err() == nil; n++ {
		g := fmt.Sprintf("%s-task-%d", r.prefix, n)
		r.Log.record(DesireTsk, g, 0, func() error { return r.cl.DesireTask(lg, "", g, Domain, TaskDef()) })
		r.Reap()
		select {
		case <-ctx.Done():
		case <-time.After(r.every):
		}
	}
}

// Reap resolves and deletes the runner's completed tasks.
func (r *TaskRunner) Reap() {
	tasks, err := r.cl.TasksWithFilter(lg, "", models.TaskFilter{Domain: Domain})
	if err != nil {
		return
	}
	for _, t := range tasks {
		if !strings.HasPrefix(t.TaskGuid, r.prefix+"-") || (t.State != models.Task_Completed && t.State != models.Task_Resolving) {
			continue
		}
		if t.State == models.Task_Completed {
			if err := r.cl.ResolvingTask(lg, "", t.TaskGuid); err != nil {
				continue
			}
		}
		if err := r.cl.DeleteTask(lg, "", t.TaskGuid); err != nil {
			continue
		}
		r.mu.Lock()
		r.completed[t.TaskGuid] = true
		if t.Failed {
			r.failed++
			r.reasons[t.FailureReason]++
		}
		r.mu.Unlock()
	}
}
