package daemon

// The runner of tasks: start in the BBS, container, action, result and
// completion.

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/actions"
	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/reconcile"
)

// MaxResultBytes is how much of a task's result_file becomes its result
// (the reference's 10 KB).
const MaxResultBytes = 10 * 1024

// taskRun is one task running (or starting) on the cell.
type taskRun struct {
	task      rep.Task
	ctx       context.Context
	cancel    context.CancelFunc
	cancelled atomic.Bool // cancelled through the API: the BBS already completed it
	started   atomic.Bool // the BBS has it RUNNING on this cell
	done      chan struct{}
}

// startTaskLocked starts a goroutine that runs the reserved task. d.mu is held.
func (d *Daemon) startTaskLocked(t rep.Task) {
	ctx, cancel := context.WithCancel(d.ctx)
	tr := &taskRun{task: t, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	d.tasks[t.TaskGuid] = tr
	d.instWG.Add(1)
	go d.runTask(tr)
}

func (d *Daemon) runTask(tr *taskRun) {
	defer d.instWG.Done()
	defer close(tr.done)
	guid := tr.task.TaskGuid
	log := d.log.With("task_guid", guid)
	forget := func() { d.forget(cell.KindTask, guid, log) }
	_ = d.ledger.Transition(cell.KindTask, guid, cell.Initializing)

	var shouldStart bool
	var err error
	d.ops.Do(guid, func() {
		if tr.ctx.Err() != nil {
			err = tr.ctx.Err()
			return
		}
		if shouldStart, err = d.bbs.StartTask(d.lg, "", guid, d.cfg.CellID); err == nil && shouldStart {
			tr.started.Store(true)
		}
	})
	if err != nil || !shouldStart {
		log.Info("not starting task", "error", err, "should_start", shouldStart)
		forget()
		return
	}
	task, err := d.bbs.TaskByGuid(d.lg, "", guid)
	var failed bool
	var reason, result string
	var cl *containerLog
	switch {
	case err != nil:
		failed, reason = true, "failed to fetch the task definition: "+err.Error()
	case task.TaskDefinition == nil || task.TaskDefinition.Action == nil:
		failed, reason = true, "task has no action"
	default:
		log.Info("running task")
		def := task.TaskDefinition
		cl = d.appOutput(outputSpec{
			group: "tasks", name: guid, limit: def.LogRateLimit,
			handle: guid, metricTags: def.MetricTags, logGuid: def.LogGuid, source: def.LogSource,
		})
		failed, reason, result = d.runTaskContainer(tr, def, cl)
	}

	d.destroyContainer(guid, cl, log)
	cl.close()
	failed = d.completeTask(tr, failed, reason, result, log)
	_ = d.ledger.Complete(cell.KindTask, guid, failed)
	forget()
}

// completeTask reports the task's end to the BBS (asking again while the
// BBS does not answer: the container is gone and the outcome lives only
// here) and returns whether it failed.
func (d *Daemon) completeTask(tr *taskRun, failed bool, reason, result string, log *slog.Logger) bool {
	guid := tr.task.TaskGuid
	d.reportEnded(guid, "completing task", log, func(attempt int) error {
		var report bool
		report, failed, reason = reconcile.TaskEnded(tr.cancelled.Load(), tr.ctx.Err() != nil, failed, reason)
		if !report {
			log.Info("task cancelled")
			return nil
		}
		if err := d.bbs.CompleteTask(d.lg, "", guid, d.cfg.CellID, failed, reason, result); err != nil {
			return err
		}
		log.Info("task completed", "failed", failed, "reason", reason, "result_bytes", len(result), "attempts", attempt)
		return nil
	})
	return failed
}

// reportRetry bounds the wait between attempts to report an end while the
// BBS does not answer.
const reportRetry = 16 * time.Second

// reportEnded runs report (the end of an instance or a task whose container
// is gone) in guid's operation queue, and again while it fails because the
// BBS does not answer (down, failing over, unreachable): 1 s after the
// first failure, then twice as long each time up to reportRetry, until it
// succeeds, the BBS refuses it or the rep stops. The caller keeps the
// instance or task this cell's meanwhile, so bulk sync does not take it
// for one whose container vanished. The reference keeps the ended
// container for its bulker to report again; this is the same promise
// without the container.
func (d *Daemon) reportEnded(guid, what string, log *slog.Logger, report func(attempt int) error) {
	wait := time.Second
	for attempt := 1; ; attempt++ {
		var err error
		d.ops.Do(guid, func() { err = report(attempt) })
		switch {
		case err == nil:
			return
		case !bbsMayAnswerLater(err):
			log.Error(what+": the BBS refused it", "error", err)
			return
		case d.ctx.Err() != nil:
			log.Error(what+": the BBS did not answer and the rep is stopping; the BBS will treat it as lost", "error", err)
			return
		}
		log.Warn(what+": the BBS did not answer; asking again", "error", err, "attempt", attempt, "in", wait.String())
		select {
		case <-time.After(wait):
		case <-d.ctx.Done():
		}
		wait = min(2*wait, reportRetry)
	}
}

// bbsMayAnswerLater says whether err is the BBS not answering (a transport
// error, a timeout, a failing database) rather than a refusal of the
// request (not found, a task no longer running here, a bad request), which
// asking again cannot change.
func bbsMayAnswerLater(err error) bool {
	var me *models.Error
	if !errors.As(err, &me) {
		return true
	}
	switch me.Type {
	case models.Error_ResourceNotFound, models.Error_InvalidStateTransition, models.Error_InvalidRequest,
		models.Error_InvalidRecord, models.Error_InvalidJSON, models.Error_ResourceConflict,
		models.Error_ResourceExists:
		return false
	}
	return true
}

// runTaskContainer runs the task's action in a new container and returns
// how it ended and its result (the first MaxResultBytes of result_file).
func (d *Daemon) runTaskContainer(tr *taskRun, def *models.TaskDefinition, cl *containerLog) (failed bool, reason, result string) {
	ctx := tr.ctx
	ce, err := d.envTask(tr.task.TaskGuid, def)
	if err != nil {
		return true, err.Error(), ""
	}
	deps := cl.Deps
	assets, def, err := d.taskAssets(ctx, tr.task.TaskGuid, deps, def)
	if err != nil {
		return true, err.Error(), ""
	}
	egress, err := egressRules(d.log, def.EgressRules)
	if err != nil {
		return true, "failed to create container: " + err.Error(), ""
	}
	c, err := cl.create(ctx, container.Spec{
		Handle: tr.task.TaskGuid, RootFS: def.RootFs, Env: ce.Env, BindMounts: slices.Concat(assets.mounts, ce.Mounts), EgressRules: egress,
		MemoryMB: int64(def.MemoryMb), DiskMB: int64(def.DiskMb), MaxPids: int64(def.MaxPids), CPUWeight: def.CpuWeight,
		Properties: map[string]string{propKind: kindTask, "task_guid": tr.task.TaskGuid},
	})
	if err != nil {
		return true, "failed to create container: " + err.Error(), ""
	}
	_ = d.ledger.Transition(cell.KindTask, tr.task.TaskGuid, cell.Running)
	stopIdentity, err := d.startTaskIdentity(ctx, c, ce)
	if err != nil {
		return true, "failed to create container: " + err.Error(), ""
	}
	defer stopIdentity()
	deps.Container = c
	if err := assets.fetch(ctx, deps); err != nil {
		return true, err.Error(), ""
	}
	step, err := actions.Build(def.Action, deps)
	if err != nil {
		return true, "invalid action: " + err.Error(), ""
	}
	if err := step.Run(ctx); err != nil {
		return true, err.Error(), "" // a run step's non-zero exit says (out of memory)
	}
	if def.ResultFile == "" {
		return false, "", ""
	}
	result, err = readResult(ctx, c, def.ResultFile)
	if err != nil {
		return true, "failed to read result_file: " + err.Error(), ""
	}
	return false, "", result
}

// readResult returns the first MaxResultBytes of the file at path in c.
func readResult(ctx context.Context, c container.Container, path string) (string, error) {
	rc, err := c.StreamOut(ctx, path)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(tr, MaxResultBytes))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return string(b), nil
}
