package service

import (
	"context"
	"errors"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
	"github.com/diego-go/diego/src/bbs/store"
)

// The Converge* operations apply one convergence decision each, in its own
// transaction, re-checking the row it was decided on. They report whether the
// instance now needs placing; the caller batches those auction requests.

// ConvergeMarkSuspect keeps a RUNNING instance on a lost cell as SUSPECT and
// creates its replacement.
func (s *Service) ConvergeMarkSuspect(ctx context.Context, key models.ActualLRPKey, ik models.ActualLRPInstanceKey) (bool, error) {
	epoch := newGUID()
	return s.converge(ctx, key, func(g lifecycle.Group, now int64) lifecycle.Plan {
		return lifecycle.MarkSuspect(g, ik, epoch, now)
	})
}

// ConvergeUnclaimLost returns a CLAIMED instance on a lost cell to UNCLAIMED.
func (s *Service) ConvergeUnclaimLost(ctx context.Context, key models.ActualLRPKey, ik models.ActualLRPInstanceKey) (bool, error) {
	return s.converge(ctx, key, func(g lifecycle.Group, now int64) lifecycle.Plan {
		return lifecycle.UnclaimLost(g, ik, now)
	})
}

// ConvergeResolveSuspect settles a SUSPECT instance (see lifecycle.ResolveSuspect).
func (s *Service) ConvergeResolveSuspect(ctx context.Context, key models.ActualLRPKey, cellPresent bool) (bool, error) {
	epoch := newGUID()
	return s.converge(ctx, key, func(g lifecycle.Group, now int64) lifecycle.Plan {
		return lifecycle.ResolveSuspect(g, cellPresent, epoch, now)
	})
}

// ConvergeRestartCrashed puts a CRASHED instance that is due back up for placement.
func (s *Service) ConvergeRestartCrashed(ctx context.Context, key models.ActualLRPKey) (bool, error) {
	return s.converge(ctx, key, lifecycle.RestartCrashed)
}

// ConvergeRemoveLostEvacuating drops an EVACUATING copy whose cell has gone.
func (s *Service) ConvergeRemoveLostEvacuating(ctx context.Context, key models.ActualLRPKey, ik models.ActualLRPInstanceKey) error {
	_, err := s.converge(ctx, key, func(g lifecycle.Group, _ int64) lifecycle.Plan {
		return lifecycle.RemoveLostEvacuating(g, ik)
	})
	return err
}

// StillUnclaimed reports whether an instance is still waiting for placement.
func (s *Service) StillUnclaimed(ctx context.Context, key models.ActualLRPKey) (bool, error) {
	rows, err := s.cfg.Store.ActualLRPs(ctx, store.ActualFilter{ProcessGuid: key.ProcessGuid, Index: &key.Index})
	if err != nil {
		return false, err
	}
	return lifecycle.StillUnclaimed(lifecycle.Group(rows)), nil
}

func (s *Service) converge(ctx context.Context, key models.ActualLRPKey, decide func(lifecycle.Group, int64) lifecycle.Plan) (bool, error) {
	p, err := s.applyActualDecision(ctx, key.ProcessGuid, key.Index, func(g lifecycle.Group, now int64) (lifecycle.Plan, error) {
		return decide(g, now), nil
	})
	return p.Auction, err
}

// ConvergeCreateMissing creates UNCLAIMED instances for the given indices of
// a desired LRP, if it still wants them and they are still missing. It
// returns the indices it created.
func (s *Service) ConvergeCreateMissing(ctx context.Context, guid string, indices []int32) ([]int32, error) {
	var created []*models.ActualLRP
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		created = nil
		d, err := tx.DesiredLRP(guid)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rows, err := tx.ActualLRPs(guid, nil)
		if err != nil {
			return err
		}
		skip := map[int32]bool{}
		for i := int32(0); i < d.Instances; i++ {
			skip[i] = true
		}
		for _, i := range indices {
			delete(skip, i)
		}
		for _, r := range rows {
			if r.Presence == models.ActualLRP_Ordinary || r.Presence == models.ActualLRP_Suspect {
				skip[r.Index] = true
			}
		}
		created, err = s.createMissing(tx, d, skip)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(created))
	for i, a := range created {
		s.cfg.LRPEvents.Publish(models.NewActualLRPInstanceCreatedEvent(a, ""))
		out[i] = a.Index
	}
	return out, nil
}

// RetireInstance shuts down an extra or undesired instance.
func (s *Service) RetireInstance(ctx context.Context, lrp *models.ActualLRP) error {
	return s.retire(ctx, lrp)
}

// RequestAuctions asks the auctioneer to place LRP instances and tasks in one batch.
func (s *Service) RequestAuctions(ctx context.Context, lrps []LRPStartRequest, tasks []*models.Task) {
	if len(lrps) > 0 {
		if err := s.cfg.Auctioneer.RequestLRPAuctions(ctx, lrps); err != nil {
			s.log.Error("requesting LRP auctions", "requests", len(lrps), "err", err)
		}
	}
	if len(tasks) > 0 {
		if err := s.cfg.Auctioneer.RequestTaskAuctions(ctx, tasks); err != nil {
			s.log.Error("requesting task auctions", "tasks", len(tasks), "err", err)
		}
	}
}

// ConvergeFailTask fails a PENDING or RUNNING task (expired, or its cell is gone).
func (s *Service) ConvergeFailTask(ctx context.Context, guid string, from models.Task_State, reason string) error {
	_, _, err := s.taskOp(ctx, guid, func(t *models.Task, now int64) (*models.Task, error) {
		if t.State != from {
			return nil, nil // moved on since the snapshot
		}
		return lifecycle.FailTask(t, reason, now)
	})
	return ignoreGone(err)
}

// ConvergeDemoteResolving returns a task stuck RESOLVING to COMPLETED.
func (s *Service) ConvergeDemoteResolving(ctx context.Context, guid string) error {
	_, _, err := s.taskOp(ctx, guid, func(t *models.Task, now int64) (*models.Task, error) {
		if t.State != models.Task_Resolving {
			return nil, nil
		}
		return lifecycle.DemoteResolving(t, now)
	})
	return ignoreGone(err)
}

// ConvergeExpireTask deletes a finished task its owner never resolved.
func (s *Service) ConvergeExpireTask(ctx context.Context, guid string) error {
	var removed *models.Task
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		removed = nil
		t, err := tx.Task(guid)
		if err != nil {
			return err
		}
		if lifecycle.ExpireTask(t) != nil {
			return nil
		}
		removed = t
		return tx.DeleteTask(guid)
	})
	if err == nil && removed != nil {
		s.cfg.TaskEvents.Publish(models.NewTaskRemovedEvent(removed))
	}
	return ignoreGone(err)
}

// ResendCallback re-delivers a completed task's callback.
func (s *Service) ResendCallback(t *models.Task) { s.cfg.Callbacks.Enqueue(t) }

func ignoreGone(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
