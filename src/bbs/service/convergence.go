package service

import (
	"context"
	"errors"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/convergence"
	"github.com/diego-go/diego/src/bbs/store"
)

// ApplyLRPAction applies one convergence decision in its own transaction,
// after checking that the rows are still those it was decided on. It reports
// whether the action took effect (false: the rows moved on; the next pass
// decides again). Auction requests are left to the caller, which batches them.
func (s *Service) ApplyLRPAction(ctx context.Context, a *convergence.LRPAction) (bool, error) {
	changes := a.Changes(newGUID)
	applied := true
	if len(changes) > 0 {
		var rows []*models.ActualLRP
		err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
			// The desired row first (the order DesireLRP and
			// UpdateDesiredLRP lock in), then the index's actual rows.
			d, err := tx.DesiredLRP(a.Key.ProcessGuid)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if applied = sameDesire(a, d); !applied {
				return nil
			}
			rows, err = tx.ActualLRPs(a.Key.ProcessGuid, &a.Key.Index)
			if err != nil {
				return err
			}
			if applied = a.Unchanged(rows); !applied {
				return nil
			}
			return applyActual(tx, changes)
		})
		if err != nil {
			return false, err
		}
		if !applied {
			return false, nil
		}
		s.publishActual(rows, changes, false)
	}
	if a.Stop != nil && len(changes) == 0 {
		d, err := s.cfg.Store.DesiredLRP(ctx, a.Key.ProcessGuid)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		if !sameDesire(a, d) {
			return false, nil
		}
	}
	if a.Stop != nil {
		cell, err := s.Cell(ctx, a.Stop.CellId)
		if err != nil {
			return true, ignoreGone(err)
		}
		if err := s.cfg.Cells.StopLRPInstance(ctx, cell, a.Stop.ActualLRPKey, a.Stop.ActualLRPInstanceKey); err != nil {
			return true, err
		}
	}
	return true, nil
}

// sameDesire reports whether the desired LRP now (d, nil when there is
// none) still says what the action was decided on: desired or not, and the
// index within the instances or beyond them. A process guid desired again
// since the snapshot keeps its "orphans"; an index scaled back in keeps its
// "extra" instance; an LRP removed or scaled down gets no replacement.
func sameDesire(a *convergence.LRPAction, d *models.DesiredLRP) bool {
	if (a.Desired == nil) != (d == nil) {
		return false
	}
	if d == nil {
		return true
	}
	return (a.Key.Index < a.Desired.Instances) == (a.Key.Index < d.Instances)
}

// ApplyTaskAction applies one convergence decision about a task, checking
// first that the task is still as decided on.
func (s *Service) ApplyTaskAction(ctx context.Context, a *convergence.TaskAction) (bool, error) {
	if a.After != nil || a.Delete {
		applied := true
		err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
			current, err := tx.Task(a.Task.TaskGuid)
			if err != nil {
				return err
			}
			if applied = a.Unchanged(current); !applied {
				return nil
			}
			if a.Delete {
				return tx.DeleteTask(a.Task.TaskGuid)
			}
			return tx.UpdateTask(a.After)
		})
		if err != nil || !applied {
			return false, ignoreGone(err)
		}
		if a.Delete {
			s.cfg.TaskEvents.Publish(models.NewTaskRemovedEvent(a.Task))
		} else {
			s.cfg.TaskEvents.Publish(models.NewTaskChangedEvent(a.Task, a.After))
		}
	}
	if a.Callback {
		t := a.Task
		if a.After != nil {
			t = a.After
		}
		s.cfg.Callbacks.Enqueue(t)
	}
	return true, nil
}

// RequestAuctions asks the auctioneer to place LRP instances and tasks, in
// one batch each.
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

func ignoreGone(err error) error {
	if errors.Is(err, store.ErrNotFound) || ModelError(err).GetType() == models.Error_ResourceNotFound {
		return nil
	}
	return err
}
