package lifecycle

import (
	"code.cloudfoundry.org/bbs/models"
)

// Change is one row-level effect on the actual_lrps table: Before nil is an
// insert, After nil is a delete, both set is an update.
type Change struct {
	Before, After *models.ActualLRP
}

// Plan is what an actual LRP operation decided.
type Plan struct {
	Changes []Change
	// Auction asks for the ordinary instance to be (re)placed by the auctioneer.
	Auction bool
	// Crashed marks the update as a crash, for the actual_lrp_crashed event.
	Crashed bool
	// KeepContainer is the evacuation calls' answer to the rep.
	KeepContainer bool
}

// Group is every presence of one (process guid, index).
type Group []*models.ActualLRP

func (g Group) find(p models.ActualLRP_Presence) *models.ActualLRP {
	for _, l := range g {
		if l.Presence == p {
			return l
		}
	}
	return nil
}

func (g Group) withInstance(ik *models.ActualLRPInstanceKey) *models.ActualLRP {
	for _, l := range g {
		if l.ActualLRPInstanceKey == *ik {
			return l
		}
	}
	return nil
}

// Ordinary returns the ORDINARY presence, or nil.
func (g Group) Ordinary() *models.ActualLRP { return g.find(models.ActualLRP_Ordinary) }

// Evacuating returns the EVACUATING presence, or nil.
func (g Group) Evacuating() *models.ActualLRP { return g.find(models.ActualLRP_Evacuating) }

// Suspect returns the SUSPECT presence, or nil.
func (g Group) Suspect() *models.ActualLRP { return g.find(models.ActualLRP_Suspect) }

// next copies lrp for modification and bumps its modification tag.
func next(lrp *models.ActualLRP, now int64) *models.ActualLRP {
	n := lrp.Copy()
	n.ModificationTag.Increment()
	n.Since = now
	return n
}

// NewUnclaimed is a fresh UNCLAIMED ordinary instance with a new epoch.
func NewUnclaimed(key models.ActualLRPKey, epoch string, now int64) *models.ActualLRP {
	return &models.ActualLRP{
		ActualLRPKey:    key,
		State:           models.ActualLRPStateUnclaimed,
		Since:           now,
		ModificationTag: models.ModificationTag{Epoch: epoch},
		Presence:        models.ActualLRP_Ordinary,
	}
}

// Claim: the rep has reserved a container for the instance.
func Claim(g Group, ik models.ActualLRPInstanceKey, now int64) (Plan, error) {
	if l := g.withInstance(&ik); l != nil && l.Presence == models.ActualLRP_Suspect {
		return Plan{}, nil // a suspect instance's claim is a no-op until convergence resolves it
	}
	lrp := g.Ordinary()
	if lrp == nil {
		return Plan{}, models.ErrResourceNotFound
	}
	if lrp.State == models.ActualLRPStateClaimed && lrp.ActualLRPInstanceKey == ik {
		return Plan{}, nil
	}
	if !allows(lrp, ik, models.ActualLRPStateClaimed) {
		return Plan{}, models.ErrActualLRPCannotBeClaimed
	}
	after := next(lrp, now)
	after.State = models.ActualLRPStateClaimed
	after.ActualLRPInstanceKey = ik
	after.ActualLRPNetInfo = models.ActualLRPNetInfo{}
	after.PlacementError = ""
	return Plan{Changes: []Change{{lrp, after}}}, nil
}

// RunningInfo is what the rep reports when an instance is healthy.
type RunningInfo struct {
	NetInfo          models.ActualLRPNetInfo
	InternalRoutes   []*models.ActualLRPInternalRoute
	MetricTags       map[string]string
	Routable         bool
	AvailabilityZone string
}

func (ri RunningInfo) apply(l *models.ActualLRP) {
	l.ActualLRPNetInfo = ri.NetInfo
	l.ActualLrpInternalRoutes = ri.InternalRoutes
	l.MetricTags = ri.MetricTags
	l.SetRoutable(ri.Routable)
	l.AvailabilityZone = ri.AvailabilityZone
}

func (ri RunningInfo) matches(l *models.ActualLRP) bool {
	probe := l.Copy()
	ri.apply(probe)
	return probe.Equal(l)
}

// Start: the instance is healthy on its cell. A missing ordinary row is
// created RUNNING; a replaced evacuating or suspect copy is removed.
func Start(g Group, key models.ActualLRPKey, ik models.ActualLRPInstanceKey, ri RunningInfo, epoch string, now int64) (Plan, error) {
	if l := g.withInstance(&ik); l != nil && l.Presence == models.ActualLRP_Suspect {
		return Plan{}, nil
	}
	var p Plan
	lrp := g.Ordinary()
	switch {
	case lrp == nil:
		p.Changes = append(p.Changes, Change{nil, newRunning(key, ik, ri, models.ActualLRP_Ordinary, epoch, now)})
	case lrp.State == models.ActualLRPStateRunning && lrp.ActualLRPInstanceKey == ik && ri.matches(lrp):
		// already recorded; nothing changes
	case !allows(lrp, ik, models.ActualLRPStateRunning):
		return Plan{}, models.ErrActualLRPCannotBeStarted
	default:
		after := next(lrp, now)
		after.State = models.ActualLRPStateRunning
		after.ActualLRPInstanceKey = ik
		after.PlacementError = ""
		ri.apply(after)
		p.Changes = append(p.Changes, Change{lrp, after})
	}
	if e := g.Evacuating(); e != nil && len(p.Changes) > 0 {
		p.Changes = append(p.Changes, Change{e, nil})
	}
	if s := g.Suspect(); s != nil && len(p.Changes) > 0 {
		p.Changes = append(p.Changes, Change{s, nil})
	}
	return p, nil
}

// newRunning is a fresh RUNNING instance under the given presence.
func newRunning(key models.ActualLRPKey, ik models.ActualLRPInstanceKey, ri RunningInfo, p models.ActualLRP_Presence, epoch string, now int64) *models.ActualLRP {
	l := &models.ActualLRP{
		ActualLRPKey:         key,
		ActualLRPInstanceKey: ik,
		State:                models.ActualLRPStateRunning,
		Since:                now,
		ModificationTag:      models.ModificationTag{Epoch: epoch},
		Presence:             p,
	}
	ri.apply(l)
	return l
}

// RestartPolicy decides whether a crashed instance restarts at once.
type RestartPolicy interface {
	ShouldRestart(now, crashedAt int64, crashCount int32) bool
}

// CrashCountResetAfter: an instance that ran this long starts counting crashes afresh.
const CrashCountResetAfter int64 = 5 * 60 * 1e9

// Crash: the instance exited without being asked to.
func Crash(g Group, ik models.ActualLRPInstanceKey, reason string, policy RestartPolicy, now int64) (Plan, error) {
	if l := g.withInstance(&ik); l != nil && l.Presence == models.ActualLRP_Suspect {
		return Plan{Changes: []Change{{l, nil}}}, nil
	}
	lrp := g.Ordinary()
	if lrp == nil {
		return Plan{}, models.ErrResourceNotFound
	}
	if !allows(lrp, ik, models.ActualLRPStateCrashed) {
		return Plan{}, models.ErrActualLRPCannotBeCrashed
	}
	count := lrp.CrashCount + 1
	if lrp.State == models.ActualLRPStateRunning && now-lrp.Since >= CrashCountResetAfter {
		count = 1
	}
	after := next(lrp, now)
	after.CrashCount = count
	after.CrashReason = reason
	after.ActualLRPInstanceKey = models.ActualLRPInstanceKey{}
	after.ActualLRPNetInfo = models.ActualLRPNetInfo{}
	after.ActualLrpInternalRoutes = nil
	after.AvailabilityZone = ""
	restart := policy.ShouldRestart(0, 0, count)
	if restart {
		after.State = models.ActualLRPStateUnclaimed
	} else {
		after.State = models.ActualLRPStateCrashed
	}
	return Plan{Changes: []Change{{lrp, after}}, Auction: restart, Crashed: true}, nil
}

// Fail records that no cell could take an UNCLAIMED instance.
func Fail(g Group, placementError string, now int64) (Plan, error) {
	lrp := g.Ordinary()
	if lrp == nil {
		return Plan{}, nil // the reference treats a vanished instance as nothing to fail
	}
	if lrp.State != models.ActualLRPStateUnclaimed {
		return Plan{}, models.ErrActualLRPCannotBeFailed
	}
	after := next(lrp, now)
	after.PlacementError = placementError
	return Plan{Changes: []Change{{lrp, after}}}, nil
}

// Remove deletes the ordinary instance; a non-empty instance key must match.
func Remove(g Group, ik *models.ActualLRPInstanceKey) (Plan, error) {
	lrp := g.Ordinary()
	if lrp == nil {
		return Plan{}, models.ErrResourceNotFound
	}
	if ik != nil && !ik.Empty() && lrp.ActualLRPInstanceKey != *ik {
		return Plan{}, models.ErrActualLRPCannotBeRemoved
	}
	return Plan{Changes: []Change{{lrp, nil}}}, nil
}

// Unclaim sends the ordinary instance back to UNCLAIMED for re-placement.
func Unclaim(g Group, now int64) (Plan, error) {
	lrp := g.Ordinary()
	if lrp == nil {
		return Plan{}, models.ErrResourceNotFound
	}
	if lrp.State == models.ActualLRPStateUnclaimed {
		return Plan{}, nil
	}
	if lrp.State != models.ActualLRPStateClaimed && lrp.State != models.ActualLRPStateRunning {
		return Plan{}, models.ErrActualLRPCannotBeUnclaimed
	}
	after := next(lrp, now)
	after.State = models.ActualLRPStateUnclaimed
	after.ActualLRPInstanceKey = models.ActualLRPInstanceKey{}
	after.ActualLRPNetInfo = models.ActualLRPNetInfo{}
	after.ActualLrpInternalRoutes = nil
	after.AvailabilityZone = ""
	return Plan{Changes: []Change{{lrp, after}}, Auction: true}, nil
}

// allows is the transition table of the actual LRP state machine.
func allows(before *models.ActualLRP, ik models.ActualLRPInstanceKey, to string) bool {
	same := before.ActualLRPInstanceKey == ik
	switch before.State {
	case models.ActualLRPStateUnclaimed:
		return to == models.ActualLRPStateUnclaimed || to == models.ActualLRPStateClaimed || to == models.ActualLRPStateRunning
	case models.ActualLRPStateClaimed:
		return (to == models.ActualLRPStateUnclaimed && ik.Empty()) ||
			(to == models.ActualLRPStateClaimed && same) ||
			to == models.ActualLRPStateRunning ||
			(to == models.ActualLRPStateCrashed && same)
	case models.ActualLRPStateRunning:
		return (to == models.ActualLRPStateUnclaimed && ik.Empty()) ||
			(to == models.ActualLRPStateClaimed && same) ||
			(to == models.ActualLRPStateRunning && same) ||
			(to == models.ActualLRPStateCrashed && same)
	case models.ActualLRPStateCrashed:
		return (to == models.ActualLRPStateUnclaimed && ik.Empty()) ||
			(to == models.ActualLRPStateClaimed && same) ||
			(to == models.ActualLRPStateRunning && same)
	}
	return false
}
