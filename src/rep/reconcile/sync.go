package reconcile

import (
	"slices"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// Instance is an LRP instance the cell runs, as the bulk sync sees it.
type Instance struct {
	Guid, ProcessGuid string
	Index             int32
	// Ending: the instance was already asked to stop.
	Ending bool
	// Healthy: its container passed its health checks (the cell reported,
	// or tried to report, it running).
	Healthy bool
}

// TaskRun is a task the cell runs, as the bulk sync sees it.
type TaskRun struct {
	Guid string
	// Ending: the task was already asked to stop.
	Ending bool
}

// Cell is what one bulk sync pass decides from.
type Cell struct {
	CellID string
	// ActualLRPs and Tasks are what the BBS holds for this cell.
	ActualLRPs []*models.ActualLRP
	Tasks      []*models.Task
	// Containers are the handles of the backend's containers.
	Containers []string
	// OwnedLRPs and OwnedTasks are the instance and task guids the cell
	// runs or has reserved.
	OwnedLRPs, OwnedTasks map[string]bool
	// Claimed are the instances the BBS had claimed by this cell before the
	// BBS was read, and Started the tasks it had RUNNING here: anything
	// newer may be missing from the BBS's answer without being wrong.
	Claimed []Instance
	Started []TaskRun
}

// Sync decides one bulk sync pass: BBS records without a container are
// removed (LRPs) or failed (tasks); healthy instances the BBS still has
// CLAIMED here are reported running again; instances and tasks the BBS no
// longer places here are abandoned (stopped without telling it); containers
// nothing owns are destroyed. The order is removals, failures, reports,
// abandons (by guid), destructions.
func Sync(c Cell) []Op {
	var ops []Op
	healthy := make(map[string]bool, len(c.Claimed))
	for _, inst := range c.Claimed {
		if inst.Healthy && !inst.Ending {
			healthy[inst.Guid] = true
		}
	}
	var reports []Op
	here := make(map[string]bool, len(c.ActualLRPs))
	for _, a := range c.ActualLRPs {
		if a.CellId != c.CellID {
			continue
		}
		here[a.InstanceGuid] = true
		if c.OwnedLRPs[a.InstanceGuid] {
			if healthy[a.InstanceGuid] && a.State == models.ActualLRPStateClaimed && a.Presence == models.ActualLRP_Ordinary {
				reports = append(reports, Op{Kind: ReportRunning, Guid: a.InstanceGuid, ProcessGuid: a.ProcessGuid, Index: a.Index, LRP: a})
			}
			continue
		}
		ops = append(ops, Op{
			Kind: RemoveActualLRP, Guid: a.InstanceGuid, ProcessGuid: a.ProcessGuid, Index: a.Index, LRP: a,
			Evacuating: a.Presence == models.ActualLRP_Evacuating, UnlessOwned: true,
		})
	}
	running := make(map[string]bool, len(c.Tasks))
	for _, t := range c.Tasks {
		if t.CellId != c.CellID || t.State != models.Task_Running {
			continue
		}
		running[t.TaskGuid] = true
		if c.OwnedTasks[t.TaskGuid] {
			continue
		}
		ops = append(ops, Op{Kind: FailTask, Guid: t.TaskGuid, Reason: TaskContainerMissing, UnlessOwned: true})
	}
	ops = append(ops, reports...)
	n := len(ops)
	for _, inst := range c.Claimed {
		if !here[inst.Guid] && !inst.Ending {
			ops = append(ops, Op{Kind: AbandonInstance, Guid: inst.Guid, ProcessGuid: inst.ProcessGuid, Index: inst.Index})
		}
	}
	for _, tr := range c.Started {
		if !running[tr.Guid] && !tr.Ending {
			ops = append(ops, Op{Kind: AbandonTask, Guid: tr.Guid})
		}
	}
	slices.SortStableFunc(ops[n:], func(a, b Op) int { return strings.Compare(a.Guid, b.Guid) })
	for _, h := range c.Containers {
		if c.OwnedLRPs[h] || c.OwnedTasks[h] {
			continue
		}
		ops = append(ops, Op{Kind: DestroyContainer, Guid: h, UnlessOwned: true})
	}
	return ops
}

// Recover decides the restart recovery: every container a previous rep on
// this backend left is destroyed (it was killed or crashed); the first bulk
// sync then reconciles the BBS with the empty cell.
func Recover(containers []string) []Op {
	ops := make([]Op, 0, len(containers))
	for _, h := range containers {
		ops = append(ops, Op{Kind: DestroyLeftover, Guid: h})
	}
	return ops
}

// Spread is how long a rep waits after its first bulk sync for its second:
// interval/2 plus u (in [0, 1)) intervals, so somewhere in a window one
// interval wide. Reps started together (a deploy, the 1,200 simulated
// cells of the scale benchmark) would otherwise sync together every
// interval, all 1,200 within a second of each other; spread once, they
// stay apart, each still syncing every interval.
func Spread(interval time.Duration, u float64) time.Duration {
	u = min(max(u, 0), 1)
	return interval/2 + time.Duration(u*float64(interval))
}

// SyncInterval is the wait before the next bulk sync: the sync interval, or
// the evacuation polling interval when the cell evacuates and it is shorter.
func SyncInterval(sync, evacuationPolling time.Duration, evacuating bool) time.Duration {
	if evacuating && sync > evacuationPolling {
		return evacuationPolling
	}
	return sync
}
