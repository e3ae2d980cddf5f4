package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/reconcile"
)

// The reconciler: it gathers what the BBS holds for the cell, the backend's
// containers and what the cell owns, lets package reconcile decide, and
// applies the operations through the per-guid operation queue.

// TaskContainerMissing is the failure reason of a task the BBS has RUNNING
// on this cell without a container here (the reference's words).
const TaskContainerMissing = reconcile.TaskContainerMissing

// SyncStats is what one bulk sync pass found and did.
type SyncStats struct {
	Duration   time.Duration
	ActualLRPs int // this cell's actual LRPs in the BBS
	Tasks      int // this cell's tasks in the BBS
	Containers int // containers in the backend
	// Removed actual LRPs and failed tasks the BBS had here without a
	// container; Abandoned instances and tasks the BBS no longer has here;
	// Destroyed containers nothing on the cell owns; Reported healthy
	// instances the BBS still had CLAIMED here, reported running again.
	Removed, Failed, Abandoned, Destroyed, Reported int
}

// destroyLeftovers applies the restart recovery: the containers a previous
// rep on this backend left are destroyed.
func (d *Daemon) destroyLeftovers() error {
	cs, err := d.backend.Containers(d.ctx)
	if err != nil {
		return fmt.Errorf("listing leftover containers: %w", err)
	}
	for _, op := range reconcile.Recover(handles(cs)) {
		d.log.Info(op.Done(), "handle", op.Guid)
		if err := d.backend.Destroy(d.ctx, op.Guid); err != nil && !errors.Is(err, container.ErrNotFound) {
			return fmt.Errorf("%s %s: %w", op.Failed(), op.Guid, err)
		}
	}
	return nil
}

func handles(cs []container.Container) []string {
	hs := make([]string, len(cs))
	for i, c := range cs {
		hs[i] = c.Handle()
	}
	return hs
}

func (d *Daemon) syncLoop() {
	// The first pass runs at once: after a restart the BBS may still list
	// instances the old rep ran.
	timer := time.NewTimer(0)
	defer timer.Stop()
	for first := true; ; first = false {
		select {
		case <-d.ctx.Done():
			return
		case <-timer.C:
		}
		st, err := d.SyncOnce(d.ctx)
		switch {
		case err != nil && d.ctx.Err() == nil:
			d.log.Error("bulk sync", "error", err)
		case err == nil && st.Removed+st.Failed+st.Abandoned+st.Destroyed+st.Reported > 0:
			d.log.Info("bulk sync", "duration", st.Duration, "removed", st.Removed, "failed", st.Failed,
				"abandoned", st.Abandoned, "destroyed", st.Destroyed, "reported", st.Reported)
		default:
			d.log.Debug("bulk sync", "duration", st.Duration, "actual_lrps", st.ActualLRPs, "containers", st.Containers)
		}
		next := reconcile.SyncInterval(time.Duration(d.cfg.SyncInterval),
			time.Duration(d.cfg.EvacuationPollingInterval), d.isEvacuating())
		if first {
			next = reconcile.Spread(next, rand.Float64())
		}
		timer.Reset(next)
	}
}

// SyncOnce compares the BBS's view of this cell with the cell and mends
// both (see reconcile.Sync). Every change goes through the instance's
// operation queue and re-checks there.
func (d *Daemon) SyncOnce(ctx context.Context) (SyncStats, error) {
	start := time.Now()
	var st SyncStats
	cellID := d.cfg.CellID

	// What was claimed or started before the BBS is read; anything newer
	// may be missing from the BBS's answer without being wrong.
	claimedBefore := map[string]*instance{}
	startedBefore := map[string]*taskRun{}
	d.mu.Lock()
	for guid, inst := range d.instances {
		if claimed, _, _, _ := inst.status(); claimed {
			claimedBefore[guid] = inst
		}
	}
	for guid, tr := range d.tasks {
		if tr.started.Load() {
			startedBefore[guid] = tr
		}
	}
	d.mu.Unlock()

	actuals, err := d.bbs.ActualLRPs(d.lg, "", models.ActualLRPFilter{CellID: cellID})
	if err != nil {
		return st, fmt.Errorf("listing this cell's actual LRPs: %w", err)
	}
	tasks, err := d.bbs.TasksByCellID(d.lg, "", cellID)
	if err != nil {
		return st, fmt.Errorf("listing this cell's tasks: %w", err)
	}
	cs, err := d.backend.Containers(ctx)
	if err != nil {
		return st, fmt.Errorf("listing containers: %w", err)
	}
	st.ActualLRPs, st.Tasks, st.Containers = len(actuals), len(tasks), len(cs)

	in := reconcile.Cell{CellID: cellID, ActualLRPs: actuals, Tasks: tasks, Containers: handles(cs)}
	in.OwnedLRPs, in.OwnedTasks = d.owned()
	for guid, inst := range claimedBefore {
		inst.mu.Lock()
		healthy := inst.healthy
		inst.mu.Unlock()
		in.Claimed = append(in.Claimed, reconcile.Instance{Guid: guid, ProcessGuid: inst.lrp.ProcessGuid,
			Index: inst.lrp.Index, Ending: inst.ctx.Err() != nil, Healthy: healthy})
	}
	for guid, tr := range startedBefore {
		in.Started = append(in.Started, reconcile.TaskRun{Guid: guid, Ending: tr.ctx.Err() != nil})
	}
	for _, op := range reconcile.Sync(in) {
		switch op.Kind {
		case reconcile.AbandonInstance:
			d.log.Info(op.Done(), "process_guid", op.ProcessGuid, "instance_guid", op.Guid)
			claimedBefore[op.Guid].end(reconcile.EndAbandon)
			st.Abandoned++
		case reconcile.AbandonTask:
			d.log.Info(op.Done(), "task_guid", op.Guid)
			tr := startedBefore[op.Guid]
			tr.cancelled.Store(true)
			tr.cancel()
			st.Abandoned++
		case reconcile.ReportRunning:
			// StartActualLRP is idempotent in the BBS; reportRunning
			// re-checks that the instance is not ending.
			inst := claimedBefore[op.Guid]
			d.ops.Do(op.Guid, func() {
				d.log.Info(op.Done(), "process_guid", op.ProcessGuid, "index", op.Index, "instance_guid", op.Guid)
				d.reportRunning(inst, d.log.With("process_guid", op.ProcessGuid, "index", op.Index, "instance_guid", op.Guid))
				st.Reported++
			})
		default:
			d.ops.Do(op.Guid, func() {
				if op.UnlessOwned && d.ownsFor(op) {
					return
				}
				if d.apply(ctx, op) {
					switch op.Kind {
					case reconcile.RemoveActualLRP:
						st.Removed++
					case reconcile.FailTask:
						st.Failed++
					case reconcile.DestroyContainer:
						st.Destroyed++
					}
				}
			})
		}
	}
	st.Duration = time.Since(start)
	return st, nil
}

// apply runs one bulk sync operation against the BBS or the backend; it
// reports whether it succeeded. Runs in the guid's operation queue.
func (d *Daemon) apply(ctx context.Context, op reconcile.Op) bool {
	var err error
	a := op.LRP
	log := d.log
	switch op.Kind {
	case reconcile.RemoveActualLRP:
		log = log.With("process_guid", op.ProcessGuid, "index", op.Index, "instance_guid", op.Guid)
		if op.Evacuating {
			err = d.bbs.RemoveEvacuatingActualLRP(d.lg, "", &a.ActualLRPKey, &a.ActualLRPInstanceKey)
		} else {
			err = d.bbs.RemoveActualLRP(d.lg, "", &a.ActualLRPKey, &a.ActualLRPInstanceKey)
		}
	case reconcile.FailTask:
		log = log.With("task_guid", op.Guid)
		err = d.bbs.CompleteTask(d.lg, "", op.Guid, d.cfg.CellID, true, op.Reason, "")
	case reconcile.DestroyContainer:
		log = log.With("handle", op.Guid)
		if err = d.backend.Destroy(ctx, op.Guid); errors.Is(err, container.ErrNotFound) {
			err = nil
		}
	}
	if err != nil {
		log.Warn(op.Failed(), "error", err)
		return false
	}
	log.Info(op.Done())
	return true
}

// owned lists the instance and task guids the cell runs or has reserved.
func (d *Daemon) owned() (lrps, tasks map[string]bool) {
	d.mu.Lock()
	lrps = make(map[string]bool, len(d.instances))
	tasks = make(map[string]bool, len(d.tasks))
	for guid := range d.instances {
		lrps[guid] = true
	}
	for guid := range d.tasks {
		tasks[guid] = true
	}
	d.mu.Unlock()
	for _, r := range d.ledger.Reservations() {
		if r.Kind == cell.KindLRP {
			lrps[r.Guid] = true
		} else {
			tasks[r.Guid] = true
		}
	}
	return lrps, tasks
}

// ownsFor reports whether the cell owns the guid of op by now, as the kind
// op is about.
func (d *Daemon) ownsFor(op reconcile.Op) bool {
	switch op.Kind {
	case reconcile.RemoveActualLRP:
		return d.owns(cell.KindLRP, op.Guid)
	case reconcile.FailTask:
		return d.owns(cell.KindTask, op.Guid)
	}
	return d.owns(cell.KindLRP, op.Guid) || d.owns(cell.KindTask, op.Guid)
}

// owns reports whether the cell runs or has reserved the LRP instance or
// task guid.
func (d *Daemon) owns(kind cell.Kind, guid string) bool {
	d.mu.Lock()
	var ok bool
	if kind == cell.KindLRP {
		_, ok = d.instances[guid]
	} else {
		_, ok = d.tasks[guid]
	}
	d.mu.Unlock()
	if ok {
		return true
	}
	_, ok = d.ledger.Get(kind, guid)
	return ok
}
