// Package reconcile decides how a rep cell mends the difference between what
// the BBS holds for it and what its container backend has (bulk sync,
// restart recovery, evacuation and the end of an instance or task), as lists
// of operations, with no I/O and no clock.
package reconcile

import (
	"fmt"
	"strings"

	"code.cloudfoundry.org/bbs/models"
)

// TaskContainerMissing is the failure reason of a task the BBS has RUNNING
// on this cell without a container here (the reference's words).
const TaskContainerMissing = "task container does not exist"

// Kind is what an operation does.
type Kind int

const (
	// RemoveActualLRP removes an actual LRP the BBS has on this cell without
	// a container (its evacuating record when Op.Evacuating).
	RemoveActualLRP Kind = iota
	// FailTask completes as failed (Op.Reason) a task the BBS has RUNNING on
	// this cell without a container.
	FailTask
	// AbandonInstance stops an instance the BBS no longer has on this cell
	// and destroys its container without telling the BBS.
	AbandonInstance
	// AbandonTask stops a task the BBS no longer has running on this cell
	// and destroys its container without telling the BBS.
	AbandonTask
	// DestroyContainer destroys a container nothing on the cell owns.
	DestroyContainer
	// DestroyLeftover destroys a container an earlier rep on this backend
	// left (restart recovery); failing to is fatal.
	DestroyLeftover
	// ReportRunning reports again as running (StartActualLRP, idempotent
	// in the BBS) a healthy instance the BBS still has CLAIMED on this cell:
	// its first report was lost, e.g. while the BBS was down.
	ReportRunning
)

var kindNames = [...]string{"remove-actual-lrp", "fail-task", "abandon-instance", "abandon-task", "destroy-container", "destroy-leftover", "report-running"}

func (k Kind) String() string { return kindNames[k] }

// Op is one operation the daemon applies through its per-guid operation
// queue, in the order given.
type Op struct {
	Kind Kind
	// Guid is the operation queue key: the instance guid, the task guid or
	// the container handle.
	Guid string
	// ProcessGuid and Index name an instance (RemoveActualLRP,
	// AbandonInstance, ReportRunning).
	ProcessGuid string
	Index       int32
	// LRP is the record RemoveActualLRP removes; Evacuating when it is the
	// evacuating one.
	LRP        *models.ActualLRP
	Evacuating bool
	// Reason is FailTask's failure reason.
	Reason string
	// UnlessOwned: re-check in the queue and skip when the cell owns Guid by
	// then (as an instance for RemoveActualLRP, a task for FailTask, either
	// for DestroyContainer); it may have been placed meanwhile.
	UnlessOwned bool
}

// What the daemon logs for each kind once its operation succeeded, and
// when it failed.
var (
	done = [...]string{
		"removed an actual LRP without a container",
		"failed a task without a container",
		"the BBS no longer has this instance here; destroying its container",
		"the BBS no longer has this task running here; destroying its container",
		"destroyed an unowned container",
		"destroying a container left by an earlier rep",
		"reporting running again a healthy instance the BBS still has CLAIMED",
	}
	failed = [...]string{
		"removing an actual LRP without a container",
		"failing a task without a container",
		"", "",
		"destroying an unowned container",
		"destroying leftover container",
		"reporting a healthy instance the BBS still has CLAIMED as running",
	}
)

// Done is what the daemon logs once the operation succeeded.
func (o Op) Done() string { return done[o.Kind] }

// Failed is what the daemon logs when the operation failed (abandons
// cannot fail).
func (o Op) Failed() string { return failed[o.Kind] }

// String renders the operation for logs and golden scenarios.
func (o Op) String() string {
	var b strings.Builder
	b.WriteString(o.Kind.String())
	switch o.Kind {
	case RemoveActualLRP, AbandonInstance, ReportRunning:
		fmt.Fprintf(&b, " %s/%d %s", o.ProcessGuid, o.Index, o.Guid)
	default:
		fmt.Fprintf(&b, " %s", o.Guid)
	}
	if o.Evacuating {
		b.WriteString(" evacuating")
	}
	if o.Reason != "" {
		fmt.Fprintf(&b, " reason=%q", o.Reason)
	}
	if o.UnlessOwned {
		b.WriteString(" unless-owned")
	}
	return b.String()
}
