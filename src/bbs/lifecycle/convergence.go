package lifecycle

import "code.cloudfoundry.org/bbs/models"

// These transitions are what convergence applies. Each re-checks the row it
// was decided on (state and instance key), so a plan built from a snapshot
// never overwrites a change made since: if the row moved on, nothing happens.

// MarkSuspect: a RUNNING ordinary instance's cell has lost its presence. The
// instance is kept as SUSPECT (it may still be serving) and a new UNCLAIMED
// ordinary instance is created in its slot and auctioned.
func MarkSuspect(g Group, ik models.ActualLRPInstanceKey, epoch string, now int64) Plan {
	lrp := g.Ordinary()
	if lrp == nil || lrp.State != models.ActualLRPStateRunning || lrp.ActualLRPInstanceKey != ik || g.Suspect() != nil {
		return Plan{}
	}
	suspect := lrp.Copy()
	suspect.Presence = models.ActualLRP_Suspect
	suspect.ModificationTag.Increment()
	return Plan{Changes: []Change{
		{lrp, nil},
		{nil, suspect},
		{nil, NewUnclaimed(lrp.ActualLRPKey, epoch, now)},
	}, Auction: true}
}

// UnclaimLost: a CLAIMED ordinary instance's cell has lost its presence; the
// instance goes back to UNCLAIMED for placement elsewhere.
func UnclaimLost(g Group, ik models.ActualLRPInstanceKey, now int64) Plan {
	lrp := g.Ordinary()
	if lrp == nil || lrp.State != models.ActualLRPStateClaimed || lrp.ActualLRPInstanceKey != ik {
		return Plan{}
	}
	p, _ := Unclaim(g, now)
	return p
}

// ResolveSuspect settles a SUSPECT instance. When its cell is back and the
// replacement is not RUNNING, the replacement is dropped and the suspect is
// ORDINARY again (no duplicate instance). When the replacement is RUNNING, the
// suspect is removed. When there is no replacement at all, one is created.
func ResolveSuspect(g Group, cellPresent bool, epoch string, now int64) Plan {
	suspect := g.Suspect()
	if suspect == nil {
		return Plan{}
	}
	replacement := g.Ordinary()
	switch {
	case replacement != nil && replacement.State == models.ActualLRPStateRunning:
		return Plan{Changes: []Change{{suspect, nil}}}
	case cellPresent:
		back := suspect.Copy()
		back.Presence = models.ActualLRP_Ordinary
		back.ModificationTag.Increment()
		var p Plan
		if replacement != nil {
			p.Changes = append(p.Changes, Change{replacement, nil})
		}
		p.Changes = append(p.Changes, Change{suspect, nil}, Change{nil, back})
		return p
	case replacement == nil:
		return Plan{Changes: []Change{{nil, NewUnclaimed(suspect.ActualLRPKey, epoch, now)}}, Auction: true}
	}
	return Plan{}
}

// RestartCrashed puts a CRASHED instance that is due back up for placement,
// keeping its crash count for the backoff.
func RestartCrashed(g Group, now int64) Plan {
	lrp := g.Ordinary()
	if lrp == nil || lrp.State != models.ActualLRPStateCrashed {
		return Plan{}
	}
	after := next(lrp, now)
	after.State = models.ActualLRPStateUnclaimed
	return Plan{Changes: []Change{{lrp, after}}, Auction: true}
}

// RemoveLostEvacuating drops an EVACUATING copy whose cell has gone.
func RemoveLostEvacuating(g Group, ik models.ActualLRPInstanceKey) Plan {
	e := g.Evacuating()
	if e == nil || e.ActualLRPInstanceKey != ik {
		return Plan{}
	}
	return Plan{Changes: []Change{{e, nil}}}
}

// StillUnclaimed reports whether the ordinary instance is still UNCLAIMED
// (a stale-unclaimed re-auction is skipped once a cell has claimed it).
func StillUnclaimed(g Group) bool {
	lrp := g.Ordinary()
	return lrp != nil && lrp.State == models.ActualLRPStateUnclaimed
}

// DemoteResolving returns a task stuck RESOLVING to COMPLETED, so that its
// completion is reported again.
func DemoteResolving(t *models.Task, now int64) (*models.Task, error) {
	if t.State != models.Task_Resolving {
		return nil, invalidTransition(t.State, models.Task_Completed)
	}
	after := touch(t, now)
	after.State = models.Task_Completed
	return after, nil
}

// ExpireTask checks that a finished task may be deleted by convergence.
func ExpireTask(t *models.Task) error {
	if t.State != models.Task_Completed && t.State != models.Task_Resolving {
		return invalidTransition(t.State, models.Task_Resolving)
	}
	return nil
}
