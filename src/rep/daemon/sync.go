package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/container"
)

// TaskContainerMissing is the failure reason of a task the BBS has RUNNING
// on this cell without a container here (the reference's words).
const TaskContainerMissing = "task container does not exist"

// SyncStats is what one bulk sync pass found and did.
type SyncStats struct {
	Duration   time.Duration
	ActualLRPs int // this cell's actual LRPs in the BBS
	Tasks      int // this cell's tasks in the BBS
	Containers int // containers in the backend
	// Removed actual LRPs and failed tasks the BBS had here without a
	// container; Abandoned instances and tasks the BBS no longer has here;
	// Destroyed containers nothing on the cell owns.
	Removed, Failed, Abandoned, Destroyed int
}

// destroyLeftovers destroys the containers a previous rep on this backend
// left (it was killed or crashed); the first bulk sync then reconciles the
// BBS with the empty cell.
func (d *Daemon) destroyLeftovers() error {
	cs, err := d.backend.Containers(d.ctx)
	if err != nil {
		return fmt.Errorf("listing leftover containers: %w", err)
	}
	for _, c := range cs {
		d.log.Info("destroying a container left by an earlier rep", "handle", c.Handle())
		if err := d.backend.Destroy(d.ctx, c.Handle()); err != nil && !errors.Is(err, container.ErrNotFound) {
			return fmt.Errorf("destroying leftover container %s: %w", c.Handle(), err)
		}
	}
	return nil
}

func (d *Daemon) syncLoop() {
	// The first pass runs at once: after a restart the BBS may still list
	// instances the old rep ran.
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-timer.C:
		}
		st, err := d.SyncOnce(d.ctx)
		switch {
		case err != nil && d.ctx.Err() == nil:
			d.log.Error("bulk sync", "error", err)
		case err == nil && st.Removed+st.Failed+st.Abandoned+st.Destroyed > 0:
			d.log.Info("bulk sync", "duration", st.Duration, "removed", st.Removed, "failed", st.Failed,
				"abandoned", st.Abandoned, "destroyed", st.Destroyed)
		default:
			d.log.Debug("bulk sync", "duration", st.Duration, "actual_lrps", st.ActualLRPs, "containers", st.Containers)
		}
		interval := time.Duration(d.cfg.SyncInterval)
		if d.isEvacuating() && interval > time.Duration(d.cfg.EvacuationPollingInterval) {
			interval = time.Duration(d.cfg.EvacuationPollingInterval)
		}
		timer.Reset(interval)
	}
}

// SyncOnce compares the BBS's view of this cell with the cell and mends
// both: BBS records without a container are removed (LRPs) or failed
// (tasks), instances and tasks the BBS no longer places here are stopped
// without telling it, and containers nothing owns are destroyed. Every
// change goes through the instance's operation queue and re-checks there.
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

	here := map[string]bool{}
	for _, a := range actuals {
		if a.CellId != cellID {
			continue
		}
		here[a.InstanceGuid] = true
		if d.owns(cell.KindLRP, a.InstanceGuid) {
			continue
		}
		a := a
		d.ops.Do(a.InstanceGuid, func() {
			if d.owns(cell.KindLRP, a.InstanceGuid) {
				return
			}
			var err error
			if a.Presence == models.ActualLRP_Evacuating {
				err = d.bbs.RemoveEvacuatingActualLRP(d.lg, "", &a.ActualLRPKey, &a.ActualLRPInstanceKey)
			} else {
				err = d.bbs.RemoveActualLRP(d.lg, "", &a.ActualLRPKey, &a.ActualLRPInstanceKey)
			}
			if err != nil {
				d.log.Warn("removing an actual LRP without a container", "process_guid", a.ProcessGuid,
					"index", a.Index, "instance_guid", a.InstanceGuid, "error", err)
				return
			}
			d.log.Info("removed an actual LRP without a container", "process_guid", a.ProcessGuid,
				"index", a.Index, "instance_guid", a.InstanceGuid)
			st.Removed++
		})
	}

	running := map[string]bool{}
	for _, t := range tasks {
		if t.CellId != cellID || t.State != models.Task_Running {
			continue
		}
		running[t.TaskGuid] = true
		if d.owns(cell.KindTask, t.TaskGuid) {
			continue
		}
		guid := t.TaskGuid
		d.ops.Do(guid, func() {
			if d.owns(cell.KindTask, guid) {
				return
			}
			if err := d.bbs.CompleteTask(d.lg, "", guid, cellID, true, TaskContainerMissing, ""); err != nil {
				d.log.Warn("failing a task without a container", "task_guid", guid, "error", err)
				return
			}
			d.log.Info("failed a task without a container", "task_guid", guid)
			st.Failed++
		})
	}

	for guid, inst := range claimedBefore {
		if !here[guid] && inst.ctx.Err() == nil {
			d.log.Info("the BBS no longer has this instance here; destroying its container",
				"process_guid", inst.lrp.ProcessGuid, "instance_guid", guid)
			inst.end(endAbandon)
			st.Abandoned++
		}
	}
	for guid, tr := range startedBefore {
		if !running[guid] && tr.ctx.Err() == nil {
			d.log.Info("the BBS no longer has this task running here; destroying its container", "task_guid", guid)
			tr.cancelled.Store(true)
			tr.cancel()
			st.Abandoned++
		}
	}

	for _, c := range cs {
		h := c.Handle()
		if d.owns(cell.KindLRP, h) || d.owns(cell.KindTask, h) {
			continue
		}
		d.ops.Do(h, func() {
			if d.owns(cell.KindLRP, h) || d.owns(cell.KindTask, h) {
				return
			}
			if err := d.backend.Destroy(ctx, h); err != nil && !errors.Is(err, container.ErrNotFound) {
				d.log.Warn("destroying an unowned container", "handle", h, "error", err)
				return
			}
			d.log.Info("destroyed an unowned container", "handle", h)
			st.Destroyed++
		})
	}
	st.Duration = time.Since(start)
	return st, nil
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
