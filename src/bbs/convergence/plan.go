package convergence

import (
	"strings"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
)

// Plan is everything one convergence pass must do. Applying it is the
// caller's job: each LRPAction and each TaskAction is one transaction of its
// own, checked first against the rows it was decided on (Unchanged) and
// skipped when they moved on; the next pass decides again.
type Plan struct {
	// Now is the snapshot time every decision was taken at (unix ns).
	Now int64
	// LRPs holds at most one action per (process guid, index), sorted by
	// process guid then index.
	LRPs []LRPAction
	// Starts is Starts(LRPs): the auction requests if every action commits.
	Starts []StartRequest
	// Tasks holds at most one action per task, sorted by task guid.
	Tasks []TaskAction
	// MissingCells are the cells named by CLAIMED or RUNNING instances (any
	// presence) or RUNNING tasks that hold no presence, sorted.
	MissingCells []string
	Counts       Counts
}

// Reason is a set of decisions about one (process guid, index).
type Reason uint16

// The decisions. Each names the row changes LRPAction.Changes makes for it.
const (
	// RemoveEvacuating: the EVACUATING row's cell holds no presence; delete it.
	RemoveEvacuating Reason = 1 << iota
	// Reauction: the ORDINARY row has been UNCLAIMED longer than
	// StaleUnclaimedAfter; auction it again. No row changes.
	Reauction
	// Unclaim: the ORDINARY row is CLAIMED on a missing cell, or RUNNING on a
	// missing cell while a SUSPECT row already holds the index; it goes back
	// to UNCLAIMED (lifecycle.Unclaim) and is auctioned.
	Unclaim
	// MarkSuspect: the ORDINARY row is RUNNING on a missing cell; it moves to
	// the SUSPECT presence and a new UNCLAIMED ORDINARY row replaces it and is
	// auctioned.
	MarkSuspect
	// PromoteSuspect: the SUSPECT row's cell holds a presence again and no
	// replacement is RUNNING on a live cell; the ORDINARY replacement (if any)
	// is deleted and the SUSPECT row moves back to ORDINARY.
	PromoteSuspect
	// RemoveSuspect: the ORDINARY replacement is RUNNING on a live cell;
	// delete the SUSPECT row.
	RemoveSuspect
	// ReplaceSuspect: the SUSPECT row's cell is still missing and no ORDINARY
	// row exists; insert an UNCLAIMED ORDINARY row and auction it.
	ReplaceSuspect
	// CreateMissing: a desired index has neither an ORDINARY nor a SUSPECT
	// row; insert an UNCLAIMED ORDINARY row and auction it.
	CreateMissing
	// RetireExtra: the index is >= the desired instances and the domain is
	// fresh; the SUSPECT row is deleted, and the ORDINARY row is deleted if
	// it is UNCLAIMED, CRASHED or on a missing cell, else stopped (Stop).
	RetireExtra
	// RetireOrphan: as RetireExtra, for an index of a process guid that is
	// not desired at all (fresh domain only).
	RetireOrphan
	// RestartCrashed: the CRASHED ORDINARY row is due under the restart
	// policy; it goes back to UNCLAIMED, keeping its crash count, and is
	// auctioned.
	RestartCrashed
)

var reasonNames = [...]string{
	"remove-evacuating", "reauction", "unclaim", "mark-suspect", "promote-suspect",
	"remove-suspect", "replace-suspect", "create-missing", "retire-extra",
	"retire-orphan", "restart-crashed",
}

const numReasons = len(reasonNames)

// Has reports whether every decision in q is in r.
func (r Reason) Has(q Reason) bool { return r&q == q }

// String names the decisions, joined by '+'.
func (r Reason) String() string {
	var b strings.Builder
	for i, name := range reasonNames {
		if r&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('+')
			}
			b.WriteString(name)
		}
	}
	return b.String()
}

// LRPAction is what convergence does about one (process guid, index): one
// transaction over that index's rows, then an optional auction or stop.
//
// To apply it:
//  1. If Changes is not empty: in one transaction read every presence of the
//     index; if !Unchanged(rows), drop the action (the next pass decides
//     again); else write the changes in order. After commit publish one event
//     per change: insert, instance created; delete, instance removed; update
//     or move, instance changed (before, after).
//  2. If the changes committed, or there were none: if Auction, include
//     Key.Index in Desired's start request (see Starts); if Stop is set, ask
//     the rep on cell Stop.CellId to stop the instance (Stop.ActualLRPKey,
//     Stop.ActualLRPInstanceKey). Stop never comes with a write to its row.
//
// Actions with no changes (Reauction, or a retirement by Stop alone) need no
// transaction.
type LRPAction struct {
	// Key is the instance key; its Domain is the desired LRP's (or the rows').
	Key models.ActualLRPKey
	// Desired is the desired LRP, nil for an orphan.
	Desired *models.DesiredLRPSchedulingInfo
	// Rows is every presence of the index as decided on (the snapshot's
	// rows, shared: do not modify). Empty for a missing index.
	Rows lifecycle.Group
	// Why is the set of decisions taken.
	Why Reason
	// Auction: after commit, auction Key.Index of Desired.
	Auction bool
	// Stop: after commit, ask this instance's cell to stop it (retirement of
	// a CLAIMED or RUNNING instance whose cell holds a presence).
	Stop *models.ActualLRP

	now int64
}

// Changes is the ordered list of row writes: Before nil inserts After;
// After nil deletes Before (keyed by process guid, index, Before.Presence);
// both set with the same presence updates the row; both set with different
// presences moves the row: delete Before's key, then insert After (one
// "instance changed" event). Inserted rows take their epoch from newEpoch.
// Every After is a new row; the snapshot's rows are never modified.
func (a *LRPAction) Changes(newEpoch func() string) []lifecycle.Change {
	o, s, e := a.Rows.Ordinary(), a.Rows.Suspect(), a.Rows.Evacuating()
	var cs []lifecycle.Change
	del := func(l *models.ActualLRP) { cs = append(cs, lifecycle.Change{Before: l}) }
	insert := func() {
		cs = append(cs, lifecycle.Change{After: lifecycle.NewUnclaimed(a.Key, newEpoch(), a.now)})
	}
	if a.Why.Has(RemoveEvacuating) && e != nil {
		del(e)
	}
	if s != nil && a.Why&(RemoveSuspect|RetireExtra|RetireOrphan) != 0 {
		del(s)
	}
	if o != nil && a.Why&(RetireExtra|RetireOrphan) != 0 && a.Stop == nil {
		del(o)
	}
	switch {
	case a.Why.Has(PromoteSuspect):
		if o != nil {
			del(o)
		}
		cs = append(cs, lifecycle.Change{Before: s, After: moved(s, models.ActualLRP_Ordinary)})
	case a.Why.Has(MarkSuspect):
		cs = append(cs, lifecycle.Change{Before: o, After: moved(o, models.ActualLRP_Suspect)})
		insert()
	case a.Why.Has(Unclaim):
		p, _ := lifecycle.Unclaim(lifecycle.Group{o}, a.now)
		cs = append(cs, p.Changes...)
	case a.Why.Has(RestartCrashed):
		cs = append(cs, lifecycle.Change{Before: o, After: restarted(o, a.now)})
	case a.Why&(CreateMissing|ReplaceSuspect) != 0:
		insert()
	}
	return cs
}

// moved is l under another presence, with its modification tag bumped; the
// instance keeps running, so Since is kept.
func moved(l *models.ActualLRP, p models.ActualLRP_Presence) *models.ActualLRP {
	n := l.Copy()
	n.Presence = p
	n.ModificationTag.Increment()
	return n
}

// restarted is a CRASHED row sent back to UNCLAIMED, keeping its crash count.
func restarted(l *models.ActualLRP, now int64) *models.ActualLRP {
	n := l.Copy()
	n.State = models.ActualLRPStateUnclaimed
	n.Since = now
	n.ModificationTag.Increment()
	n.ActualLRPInstanceKey = models.ActualLRPInstanceKey{}
	n.ActualLRPNetInfo = models.ActualLRPNetInfo{}
	n.ActualLrpInternalRoutes = nil
	n.AvailabilityZone = ""
	n.PlacementError = ""
	return n
}

// Unchanged reports whether current (every presence of the index, read in
// the applying transaction) is still what the action was decided on: the same
// presences, each with the same modification tag, state and instance key.
func (a *LRPAction) Unchanged(current []*models.ActualLRP) bool {
	if len(current) != len(a.Rows) {
		return false
	}
	for _, c := range current {
		var r *models.ActualLRP
		for _, l := range a.Rows {
			if l.Presence == c.Presence {
				r = l
			}
		}
		if r == nil || r.ModificationTag != c.ModificationTag || r.State != c.State ||
			r.ActualLRPInstanceKey != c.ActualLRPInstanceKey {
			return false
		}
	}
	return true
}

// StartRequest asks the auctioneer to place some indices of one desired LRP.
type StartRequest struct {
	Desired *models.DesiredLRPSchedulingInfo
	Indices []int32 // ascending
}

// Starts groups the auction work of actions (in Plan order, or any
// subsequence of it, such as the actions that committed) into one request per
// desired LRP.
func Starts(actions []LRPAction) []StartRequest {
	n := 0
	for i := range actions {
		n += btoi(actions[i].Auction && actions[i].Desired != nil)
	}
	if n == 0 {
		return nil
	}
	all := make([]int32, 0, n) // one backing array; each request gets a capped window
	var out []StartRequest
	for i := range actions {
		a := &actions[i]
		if !a.Auction || a.Desired == nil {
			continue
		}
		all = append(all, a.Key.Index)
		if k := len(out) - 1; k >= 0 && out[k].Desired.ProcessGuid == a.Desired.ProcessGuid {
			lo := len(all) - len(out[k].Indices) - 1
			out[k].Indices = all[lo:len(all):len(all)]
			continue
		}
		out = append(out, StartRequest{Desired: a.Desired, Indices: all[len(all)-1 : len(all) : len(all)]})
	}
	return out
}

// TaskKind is the one decision taken about a task.
type TaskKind uint8

// The task decisions.
const (
	// TaskFailExpired: PENDING longer than ExpirePendingTaskAfter (by
	// CreatedAt); completes failed with "not started within time limit".
	TaskFailExpired TaskKind = iota
	// TaskKick: PENDING, not updated for KickTaskAfter; auction it again.
	TaskKick
	// TaskFailCellGone: RUNNING on a cell with no presence; completes failed
	// with "cell disappeared before completion".
	TaskFailCellGone
	// TaskDemote: RESOLVING, not updated for KickTaskAfter; back to
	// COMPLETED (UpdatedAt kept) so its owner is called back again.
	TaskDemote
	// TaskDelete: COMPLETED more than ExpireCompletedTaskAfter after
	// FirstCompletedAt, or RESOLVING and both that and not updated for
	// KickTaskAfter (the reference demotes then deletes it in one pass).
	TaskDelete
	// TaskResendCallback: COMPLETED with a callback URL, not updated for
	// KickTaskAfter and not expired; send the callback again.
	TaskResendCallback
)

var taskKindNames = [...]string{"fail-expired", "kick", "fail-cell-gone", "demote", "delete", "resend-callback"}

const numTaskKinds = len(taskKindNames)

func (k TaskKind) String() string {
	if int(k) < numTaskKinds {
		return taskKindNames[k]
	}
	return "unknown"
}

// Reasons recorded on tasks convergence fails.
const (
	ExpiredReason         = "not started within time limit"
	CellDisappearedReason = "cell disappeared before completion"
)

// TaskAction is what convergence does about one task.
//
// To apply it: if After is set or Delete is true, in one transaction read the
// task; if !Unchanged(row), give up; else write After in its place (or delete
// it). After commit: if Auction, request an auction for Task; if Callback,
// hand the task as it now is (After if set, else Task) to the completion
// callback workers. Actions with neither After nor Delete need no transaction.
type TaskAction struct {
	Kind TaskKind
	// Task is the row as decided on (the snapshot's, shared: do not modify).
	Task *models.Task
	// After replaces the row (TaskFailExpired, TaskFailCellGone, TaskDemote).
	After *models.Task
	// Delete removes the row (TaskDelete).
	Delete bool
	// Auction: request a task auction (TaskKick).
	Auction bool
	// Callback: the task has a completion callback URL and its owner must be
	// told (TaskResendCallback, and failures and demotions of such tasks).
	Callback bool
}

// Unchanged reports whether current is still the row the action was decided on.
func (a *TaskAction) Unchanged(current *models.Task) bool {
	return current != nil && current.Equal(a.Task)
}

// Counts describe the snapshot and the plan, for metrics.
type Counts struct {
	DesiredLRPs      int // desired LRPs
	DesiredInstances int // sum of their instances
	Missing          int // desired indices with neither an ORDINARY nor a SUSPECT row
	Extra            int // ORDINARY rows of desired LRPs at an index >= instances
	Orphaned         int // ORDINARY rows of process guids not desired
	CrashingDesired  int // desired LRPs with at least one CRASHED ORDINARY row

	// ORDINARY rows by state.
	Unclaimed, Claimed, Running, Crashed int
	// Rows by presence.
	Suspect, Evacuating int

	TasksPending, TasksRunning, TasksCompleted, TasksResolving int

	// LRPActions counts the LRP actions taking each decision, indexed by the
	// decision's bit position (see Decisions); TaskActions by TaskKind.
	LRPActions  [numReasons]int
	TaskActions [numTaskKinds]int
	// Stops, StartIndices, TaskAuctions and Callbacks count the side effects.
	Stops, StartIndices, TaskAuctions, Callbacks int
}

// Decisions is how many LRP actions took decision r (a single bit).
func (c *Counts) Decisions(r Reason) int {
	for i := 0; i < numReasons; i++ {
		if r == 1<<i {
			return c.LRPActions[i]
		}
	}
	return 0
}

// TaskDecisions is how many task actions are of kind k.
func (c *Counts) TaskDecisions(k TaskKind) int {
	if int(k) < numTaskKinds {
		return c.TaskActions[k]
	}
	return 0
}

// Add adds o's counts to c: the counts of a pass decided in parts (see
// Snapshot) are the sums of its parts' counts.
func (c *Counts) Add(o Counts) {
	c.DesiredLRPs += o.DesiredLRPs
	c.DesiredInstances += o.DesiredInstances
	c.Missing += o.Missing
	c.Extra += o.Extra
	c.Orphaned += o.Orphaned
	c.CrashingDesired += o.CrashingDesired
	c.Unclaimed += o.Unclaimed
	c.Claimed += o.Claimed
	c.Running += o.Running
	c.Crashed += o.Crashed
	c.Suspect += o.Suspect
	c.Evacuating += o.Evacuating
	c.TasksPending += o.TasksPending
	c.TasksRunning += o.TasksRunning
	c.TasksCompleted += o.TasksCompleted
	c.TasksResolving += o.TasksResolving
	for i := range c.LRPActions {
		c.LRPActions[i] += o.LRPActions[i]
	}
	for i := range c.TaskActions {
		c.TaskActions[i] += o.TaskActions[i]
	}
	c.Stops += o.Stops
	c.StartIndices += o.StartIndices
	c.TaskAuctions += o.TaskAuctions
	c.Callbacks += o.Callbacks
}
