package convergence

import (
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
)

// tasks decides every task.
func (d *decider) tasks() {
	for _, t := range d.s.Tasks {
		if t == nil {
			continue
		}
		d.countTask(t)
		a, ok := d.task(t)
		if !ok {
			continue
		}
		d.p.Tasks = append(d.p.Tasks, a)
		c := &d.p.Counts
		c.TaskActions[a.Kind]++
		c.TaskAuctions += btoi(a.Auction)
		c.Callbacks += btoi(a.Callback)
	}
}

// older reports whether more than limit has passed since at.
func (d *decider) older(at int64, limit time.Duration) bool {
	return d.s.Now-at > int64(limit)
}

// task decides one task; ok is false when there is nothing to do.
func (d *decider) task(t *models.Task) (a TaskAction, ok bool) {
	cfg := d.cfg
	callback := t.GetCompletionCallbackUrl() != ""
	switch t.State {
	case models.Task_Pending:
		if d.older(t.CreatedAt, cfg.ExpirePendingTaskAfter) {
			return d.failTask(t, TaskFailExpired, ExpiredReason), true
		}
		if d.older(t.UpdatedAt, cfg.KickTaskAfter) {
			return TaskAction{Kind: TaskKick, Task: t, Auction: true}, true
		}
	case models.Task_Running:
		if !d.present(t.CellId) {
			d.noteMissingCell(t.CellId)
			return d.failTask(t, TaskFailCellGone, CellDisappearedReason), true
		}
	case models.Task_Completed:
		if d.older(t.FirstCompletedAt, cfg.ExpireCompletedTaskAfter) {
			return TaskAction{Kind: TaskDelete, Task: t, Delete: true}, true
		}
		if callback && d.older(t.UpdatedAt, cfg.KickTaskAfter) {
			return TaskAction{Kind: TaskResendCallback, Task: t, Callback: true}, true
		}
	case models.Task_Resolving:
		if !d.older(t.UpdatedAt, cfg.KickTaskAfter) {
			return a, false // its owner is resolving it right now
		}
		if d.older(t.FirstCompletedAt, cfg.ExpireCompletedTaskAfter) {
			return TaskAction{Kind: TaskDelete, Task: t, Delete: true}, true
		}
		after := t.Copy()
		after.State = models.Task_Completed
		return TaskAction{Kind: TaskDemote, Task: t, After: after, Callback: callback}, true
	}
	return a, false
}

// failTask completes a PENDING or RUNNING task as failed. Unlike a cell's
// or a client's completion, the reference's convergence keeps the task's
// cell_id (the cell that vanished under it).
func (d *decider) failTask(t *models.Task, k TaskKind, reason string) TaskAction {
	after, _ := lifecycle.FailTask(t, reason, d.s.Now) // t is PENDING or RUNNING
	after.CellId = t.CellId
	return TaskAction{Kind: k, Task: t, After: after, Callback: t.GetCompletionCallbackUrl() != ""}
}

func (d *decider) countTask(t *models.Task) {
	c := &d.p.Counts
	switch t.State {
	case models.Task_Pending:
		c.TasksPending++
	case models.Task_Running:
		c.TasksRunning++
	case models.Task_Completed:
		c.TasksCompleted++
	case models.Task_Resolving:
		c.TasksResolving++
	}
}
