package service

import (
	"context"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
	"github.com/diego-go/diego/src/bbs/store"
)

// decideFunc turns the rows of one (process guid, index) into a plan.
type decideFunc func(g lifecycle.Group, now int64) (lifecycle.Plan, error)

// actualOp runs one decision in a transaction, then publishes its events and
// requests its auction. The plan is returned even on error (for KeepContainer).
func (s *Service) actualOp(ctx context.Context, guid string, index int32, decide decideFunc) (lifecycle.Plan, error) {
	plan, err := s.applyActualDecision(ctx, guid, index, decide)
	if err == nil && plan.Auction {
		s.auctionIndices(ctx, guid, index)
	}
	return plan, err
}

// applyActualDecision is actualOp without the auction request, for callers
// (convergence) that batch their auctions.
func (s *Service) applyActualDecision(ctx context.Context, guid string, index int32, decide decideFunc) (lifecycle.Plan, error) {
	// A decision that changes nothing needs no write transaction: reps
	// repeat claims and starts (on each container event, each sync), and
	// every write transaction waits its turn for SQLite's one writer
	// (PostgreSQL's and MySQL's row locks). The answer then stands as of
	// the read, as if the request had come just before any write racing
	// it. Anything else, including an error, is decided again in the
	// transaction, on the rows it locks.
	if rows, err := s.cfg.Store.ActualLRPs(ctx, store.ActualFilter{ProcessGuid: guid, Index: &index}); err == nil {
		if plan, err := decide(lifecycle.Group(rows), s.now()); err == nil && noop(plan) {
			return plan, nil
		}
	}
	var plan lifecycle.Plan
	var rows []*models.ActualLRP
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if rows, err = tx.ActualLRPs(guid, &index); err != nil {
			return err
		}
		plan, err = decide(lifecycle.Group(rows), s.now())
		if err != nil {
			return err
		}
		return applyActual(tx, plan.Changes)
	})
	if err != nil {
		return plan, err
	}
	s.publishActual(rows, plan.Changes, plan.Crashed)
	return plan, nil
}

// noop says whether a plan writes, publishes and asks for nothing.
func noop(p lifecycle.Plan) bool {
	return len(p.Changes) == 0 && !p.Auction && !p.Crashed
}

func applyActual(tx store.Tx, changes []lifecycle.Change) error {
	for _, c := range changes {
		var err error
		switch {
		case c.Before == nil:
			err = tx.InsertActualLRP(c.After)
		case c.After == nil:
			err = tx.DeleteActualLRP(c.Before.ProcessGuid, c.Before.Index, c.Before.Presence)
		case c.Before.Presence != c.After.Presence:
			// presence is part of the key: a move is a delete and an insert
			if err = tx.DeleteActualLRP(c.Before.ProcessGuid, c.Before.Index, c.Before.Presence); err == nil {
				err = tx.InsertActualLRP(c.After)
			}
		default:
			err = tx.UpdateActualLRP(c.After)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// publishActual publishes the events of changes applied to rows (the rows
// of one process guid and index before them).
func (s *Service) publishActual(rows []*models.ActualLRP, changes []lifecycle.Change, crashed bool) {
	s.publishGroups(rows, changes, crashed)
	for _, e := range instanceEvents(changes, crashed) {
		s.cfg.LRPEvents.Publish(e)
	}
}

// auctionIndices asks the auctioneer to place the given indices; failures are
// logged (convergence re-requests stale UNCLAIMED instances).
func (s *Service) auctionIndices(ctx context.Context, guid string, indices ...int32) {
	info, err := s.cfg.Store.SchedulingInfo(ctx, guid)
	if err != nil {
		s.log.Error("auction request: reading scheduling info", "process_guid", guid, "err", err)
		return
	}
	s.requestAuction(ctx, info, indices)
}

func (s *Service) requestAuction(ctx context.Context, info *models.DesiredLRPSchedulingInfo, indices []int32) {
	if len(indices) == 0 {
		return
	}
	if err := s.cfg.Auctioneer.RequestLRPAuctions(ctx, []LRPStartRequest{{SchedulingInfo: info, Indices: indices}}); err != nil {
		s.log.Error("requesting LRP auction", "process_guid", info.ProcessGuid, "indices", indices, "err", err)
	}
}

// ClaimActualLRP records that a cell reserved a container for an instance.
func (s *Service) ClaimActualLRP(ctx context.Context, guid string, index int32, ik models.ActualLRPInstanceKey) error {
	_, err := s.actualOp(ctx, guid, index, func(g lifecycle.Group, now int64) (lifecycle.Plan, error) {
		return lifecycle.Claim(g, ik, now)
	})
	return err
}

// StartActualLRP records that an instance is running and healthy.
func (s *Service) StartActualLRP(ctx context.Context, key models.ActualLRPKey, ik models.ActualLRPInstanceKey, ri lifecycle.RunningInfo) error {
	epoch := newGUID()
	_, err := s.actualOp(ctx, key.ProcessGuid, key.Index, func(g lifecycle.Group, now int64) (lifecycle.Plan, error) {
		return lifecycle.Start(g, key, ik, ri, epoch, now)
	})
	return err
}

// CrashActualLRP records an unplanned exit and restarts per the policy.
func (s *Service) CrashActualLRP(ctx context.Context, key models.ActualLRPKey, ik models.ActualLRPInstanceKey, reason string) error {
	_, err := s.actualOp(ctx, key.ProcessGuid, key.Index, func(g lifecycle.Group, now int64) (lifecycle.Plan, error) {
		return lifecycle.Crash(g, ik, reason, s.cfg.Restart, now)
	})
	return err
}

// FailActualLRP records a placement error on an UNCLAIMED instance.
func (s *Service) FailActualLRP(ctx context.Context, key models.ActualLRPKey, reason string) error {
	_, err := s.actualOp(ctx, key.ProcessGuid, key.Index, func(g lifecycle.Group, now int64) (lifecycle.Plan, error) {
		return lifecycle.Fail(g, reason, now)
	})
	return err
}

// RemoveActualLRP deletes the ordinary instance.
func (s *Service) RemoveActualLRP(ctx context.Context, guid string, index int32, ik *models.ActualLRPInstanceKey) error {
	_, err := s.actualOp(ctx, guid, index, func(g lifecycle.Group, _ int64) (lifecycle.Plan, error) {
		return lifecycle.Remove(g, ik)
	})
	return err
}

// RetireActualLRP shuts an instance down without changing the desired state:
// UNCLAIMED and CRASHED rows are deleted; CLAIMED and RUNNING ones are stopped
// by their cell (or deleted if the cell is gone).
func (s *Service) RetireActualLRP(ctx context.Context, key models.ActualLRPKey) error {
	rows, err := s.cfg.Store.ActualLRPs(ctx, store.ActualFilter{ProcessGuid: key.ProcessGuid, Index: &key.Index})
	if err != nil {
		return err
	}
	lrp := lifecycle.Group(rows).Ordinary()
	if lrp == nil {
		return models.ErrResourceNotFound
	}
	return s.retire(ctx, lrp)
}

func (s *Service) retire(ctx context.Context, lrp *models.ActualLRP) error {
	if lrp.State == models.ActualLRPStateClaimed || lrp.State == models.ActualLRPStateRunning {
		cell, err := s.Cell(ctx, lrp.CellId)
		if err == nil {
			return s.cfg.Cells.StopLRPInstance(ctx, cell, lrp.ActualLRPKey, lrp.ActualLRPInstanceKey)
		}
		if ModelError(err).Type != models.Error_ResourceNotFound {
			return err
		}
	}
	ik := lrp.ActualLRPInstanceKey
	err := s.RemoveActualLRP(ctx, lrp.ProcessGuid, lrp.Index, &ik)
	if ModelError(err).GetType() == models.Error_ResourceNotFound {
		return nil // already gone
	}
	return err
}

// EvacuateClaimedActualLRP: see lifecycle.EvacuateClaimed.
func (s *Service) EvacuateClaimedActualLRP(ctx context.Context, key models.ActualLRPKey, ik models.ActualLRPInstanceKey) (bool, error) {
	p, err := s.actualOp(ctx, key.ProcessGuid, key.Index, func(g lifecycle.Group, now int64) (lifecycle.Plan, error) {
		return lifecycle.EvacuateClaimed(g, ik, now)
	})
	return p.KeepContainer, err
}

// EvacuateCrashedActualLRP: see lifecycle.EvacuateCrashed.
func (s *Service) EvacuateCrashedActualLRP(ctx context.Context, key models.ActualLRPKey, ik models.ActualLRPInstanceKey, reason string) (bool, error) {
	p, err := s.actualOp(ctx, key.ProcessGuid, key.Index, func(g lifecycle.Group, now int64) (lifecycle.Plan, error) {
		return lifecycle.EvacuateCrashed(g, ik, reason, s.cfg.Restart, now)
	})
	return p.KeepContainer, err
}

// EvacuateStoppedActualLRP: see lifecycle.EvacuateStopped.
func (s *Service) EvacuateStoppedActualLRP(ctx context.Context, key models.ActualLRPKey, ik models.ActualLRPInstanceKey) (bool, error) {
	p, err := s.actualOp(ctx, key.ProcessGuid, key.Index, func(g lifecycle.Group, _ int64) (lifecycle.Plan, error) {
		return lifecycle.EvacuateStopped(g, ik)
	})
	return p.KeepContainer, err
}

// EvacuateRunningActualLRP: see lifecycle.EvacuateRunning.
func (s *Service) EvacuateRunningActualLRP(ctx context.Context, key models.ActualLRPKey, ik models.ActualLRPInstanceKey, ri lifecycle.RunningInfo) (bool, error) {
	epoch := newGUID()
	p, err := s.actualOp(ctx, key.ProcessGuid, key.Index, func(g lifecycle.Group, now int64) (lifecycle.Plan, error) {
		return lifecycle.EvacuateRunning(g, key, ik, ri, epoch, now)
	})
	if err != nil {
		return true, err
	}
	return p.KeepContainer, nil
}

// RemoveEvacuatingActualLRP drops an EVACUATING copy.
func (s *Service) RemoveEvacuatingActualLRP(ctx context.Context, key models.ActualLRPKey, ik models.ActualLRPInstanceKey) error {
	_, err := s.actualOp(ctx, key.ProcessGuid, key.Index, func(g lifecycle.Group, _ int64) (lifecycle.Plan, error) {
		return lifecycle.RemoveEvacuating(g, ik)
	})
	return err
}
