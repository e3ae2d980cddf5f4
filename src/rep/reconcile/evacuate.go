package reconcile

// End is how an instance's container ends, which decides what the BBS is told.
type End int32

const (
	// EndCrash: it exited or became unhealthy; crash it.
	EndCrash End = iota
	// EndStop: stopped on purpose; remove it.
	EndStop
	// EndAbandon: no longer ours (replaced, evacuated, gone from the BBS);
	// destroy only.
	EndAbandon
)

var endNames = [...]string{"crash", "stop", "abandon"}

func (e End) String() string { return endNames[e] }

// Report is the BBS call that tells it about an instance.
type Report int

const (
	// ReportNothing: the BBS is not told.
	ReportNothing Report = iota
	// ReportStart is StartActualLRP (RUNNING, or a change of routability).
	ReportStart
	// ReportEvacuateRunning is EvacuateRunningActualLRP: keep the instance
	// running until the replacement runs elsewhere.
	ReportEvacuateRunning
	// ReportEvacuateClaimed is EvacuateClaimedActualLRP: hand a starting
	// instance back.
	ReportEvacuateClaimed
	// ReportAbandon: no call; the instance ends with EndAbandon.
	ReportAbandon
	// ReportRemove is RemoveActualLRP.
	ReportRemove
	// ReportEvacuateStopped is EvacuateStoppedActualLRP.
	ReportEvacuateStopped
	// ReportCrash is CrashActualLRP.
	ReportCrash
	// ReportEvacuateCrashed is EvacuateCrashedActualLRP.
	ReportEvacuateCrashed
)

var reportNames = [...]string{"nothing", "start", "evacuate-running", "evacuate-claimed", "abandon",
	"remove", "evacuate-stopped", "crash", "evacuate-crashed"}

func (r Report) String() string { return reportNames[r] }

// Running is the call that tells the BBS an instance is healthy: while the
// cell evacuates it asks for a replacement instead.
func Running(evacuating bool) Report {
	if evacuating {
		return ReportEvacuateRunning
	}
	return ReportStart
}

// Ended is the call that tells the BBS how an instance ended, through the
// evacuation calls while the cell evacuates.
func Ended(end End, evacuating bool) Report {
	switch {
	case end == EndAbandon:
		return ReportNothing
	case end == EndStop && evacuating:
		return ReportEvacuateStopped
	case end == EndStop:
		return ReportRemove
	case evacuating:
		return ReportEvacuateCrashed
	default:
		return ReportCrash
	}
}

// Evacuate is the step an evacuation pass takes for one instance that is
// not ending, from its state when the step runs: a running one asks for a
// replacement, a claimed one is handed back, one not claimed yet is
// abandoned (its claim is refused, or it is evacuated on the next pass).
func Evacuate(claimed, running bool) Report {
	switch {
	case running:
		return Running(true)
	case claimed:
		return ReportEvacuateClaimed
	default:
		return ReportAbandon
	}
}

// TaskEnded decides how a finished task is completed in the BBS: a task
// cancelled through the API is not reported (the BBS completed it already);
// one stopped by the cell without failing fails with the shutdown reason.
func TaskEnded(cancelled, stopped, failed bool, reason string) (report, fail bool, why string) {
	if cancelled {
		return false, failed, reason
	}
	if stopped && !failed {
		return true, true, "task was stopped: the cell is shutting down"
	}
	return true, failed, reason
}
