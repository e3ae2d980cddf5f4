package lifecycle

import "code.cloudfoundry.org/bbs/models"

// removeEvacuatingOrSuspect drops the copy of the instance held under an
// EVACUATING or SUSPECT presence. handled reports whether such a copy existed.
func removeEvacuatingOrSuspect(g Group, ik models.ActualLRPInstanceKey) (p Plan, handled bool, err error) {
	l := g.withInstance(&ik)
	if l == nil {
		return Plan{}, false, models.ErrResourceNotFound
	}
	if l.Presence == models.ActualLRP_Evacuating || l.Presence == models.ActualLRP_Suspect {
		return Plan{Changes: []Change{{l, nil}}}, true, nil
	}
	return Plan{}, false, nil
}

// EvacuateClaimed: an evacuating cell gives back an instance it had claimed
// but not started. The container is never kept.
func EvacuateClaimed(g Group, ik models.ActualLRPInstanceKey, now int64) (Plan, error) {
	p, handled, err := removeEvacuatingOrSuspect(g, ik)
	if err != nil || handled {
		return p, err
	}
	p, err = Unclaim(g, now)
	if err == models.ErrResourceNotFound {
		return Plan{}, nil
	}
	if err != nil {
		p.KeepContainer = true
	}
	return p, err
}

// EvacuateCrashed: an instance crashed on an evacuating cell.
func EvacuateCrashed(g Group, ik models.ActualLRPInstanceKey, reason string, policy RestartPolicy, now int64) (Plan, error) {
	p, handled, err := removeEvacuatingOrSuspect(g, ik)
	if err != nil || handled {
		return p, err
	}
	return Crash(g, ik, reason, policy, now)
}

// EvacuateStopped: an instance was stopped on an evacuating cell.
func EvacuateStopped(g Group, ik models.ActualLRPInstanceKey) (Plan, error) {
	p, handled, err := removeEvacuatingOrSuspect(g, ik)
	if err != nil || handled {
		return p, err
	}
	return Remove(g, &ik)
}

// RemoveEvacuating drops the EVACUATING copy with this instance key.
func RemoveEvacuating(g Group, ik models.ActualLRPInstanceKey) (Plan, error) {
	l := g.withInstance(&ik)
	if l == nil || l.Presence != models.ActualLRP_Evacuating {
		return Plan{}, models.ErrResourceNotFound
	}
	return Plan{Changes: []Change{{l, nil}}}, nil
}

// EvacuateRunning: a running instance on an evacuating cell. It keeps running
// (as an EVACUATING copy) until its replacement is RUNNING elsewhere.
func EvacuateRunning(g Group, key models.ActualLRPKey, ik models.ActualLRPInstanceKey, ri RunningInfo, epoch string, now int64) (Plan, error) {
	if len(g) == 0 {
		return Plan{}, nil
	}
	target := g.withInstance(&ik)
	ordinary := g.Ordinary()
	replacementRunning := ordinary != nil && !ordinary.Equal(target) &&
		(ordinary.State == models.ActualLRPStateRunning || ordinary.State == models.ActualLRPStateCrashed)
	if ordinary == nil || replacementRunning {
		// desired LRP gone or replacement already running: let the container go
		if target != nil && target.Presence == models.ActualLRP_Evacuating {
			return Plan{Changes: []Change{{target, nil}}}, nil
		}
		return Plan{}, nil
	}
	if target == nil || target.Presence == models.ActualLRP_Evacuating {
		evac := g.Evacuating()
		if evac != nil && !evac.Equal(target) {
			return Plan{}, nil // another instance already holds the evacuating slot
		}
		if evac != nil {
			if ri.matches(evac) {
				return Plan{KeepContainer: true}, nil
			}
			after := next(evac, now)
			ri.apply(after)
			return Plan{Changes: []Change{{evac, after}}, KeepContainer: true}, nil
		}
		return Plan{Changes: []Change{{nil, newRunning(key, ik, ri, models.ActualLRP_Evacuating, epoch, now)}}, KeepContainer: true}, nil
	}
	if target.State != models.ActualLRPStateRunning && target.State != models.ActualLRPStateClaimed {
		return Plan{}, nil
	}
	// The ordinary instance itself is on the evacuating cell: copy it to
	// EVACUATING and put the ordinary slot up for auction.
	p := Plan{KeepContainer: true}
	if evac := g.Evacuating(); evac != nil {
		p.Changes = append(p.Changes, Change{evac, nil})
	}
	evacRI := RunningInfo{NetInfo: target.ActualLRPNetInfo, InternalRoutes: target.ActualLrpInternalRoutes,
		MetricTags: target.MetricTags, Routable: target.GetRoutable(), AvailabilityZone: target.AvailabilityZone}
	p.Changes = append(p.Changes, Change{nil, newRunning(key, ik, evacRI, models.ActualLRP_Evacuating, epoch, now)})
	if target.Presence == models.ActualLRP_Suspect {
		p.Changes = append(p.Changes, Change{target, nil})
		return p, nil
	}
	u, err := Unclaim(g, now)
	if err != nil {
		return Plan{KeepContainer: true}, err
	}
	p.Changes = append(p.Changes, u.Changes...)
	p.Auction = u.Auction
	return p, nil
}
