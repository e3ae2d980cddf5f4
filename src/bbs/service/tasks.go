package service

import (
	"context"
	"errors"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
	"github.com/diego-go/diego/src/bbs/store"
)

// DesireTask stores a PENDING task and asks for it to be placed.
func (s *Service) DesireTask(ctx context.Context, guid, domain string, def *models.TaskDefinition) error {
	t := lifecycle.NewTask(guid, domain, def, s.now())
	if err := s.cfg.Store.Update(ctx, func(tx store.Tx) error { return tx.InsertTask(t) }); err != nil {
		return err
	}
	s.cfg.TaskEvents.Publish(models.NewTaskCreatedEvent(t))
	if err := s.cfg.Auctioneer.RequestTaskAuctions(ctx, []*models.Task{t}); err != nil {
		s.log.Error("requesting task auction", "task_guid", guid, "err", err)
	}
	return nil
}

// taskOp applies one transition in a transaction and publishes the change.
// decide returning (nil, nil) means nothing changes.
func (s *Service) taskOp(ctx context.Context, guid string, decide func(t *models.Task, now int64) (*models.Task, error)) (before, after *models.Task, err error) {
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if before, err = tx.Task(guid); err != nil {
			return err
		}
		if after, err = decide(before, s.now()); err != nil || after == nil {
			return err
		}
		return tx.UpdateTask(after)
	})
	if err != nil || after == nil {
		return before, nil, err
	}
	s.taskChanged(before, after)
	return before, after, nil
}

// taskChanged publishes a committed change and, when it completed a task
// with a callback, hands the task to the callback workers.
func (s *Service) taskChanged(before, after *models.Task) {
	s.cfg.TaskEvents.Publish(models.NewTaskChangedEvent(before, after))
	if after.State == models.Task_Completed && after.CompletionCallbackUrl != "" {
		s.cfg.Callbacks.Enqueue(after)
	}
}

// StartTask moves a task to RUNNING on a cell; shouldStart tells the rep
// whether to run it.
func (s *Service) StartTask(ctx context.Context, guid, cellID string) (bool, error) {
	var should bool
	_, _, err := s.taskOp(ctx, guid, func(t *models.Task, now int64) (*models.Task, error) {
		after, st, err := lifecycle.StartTask(t, cellID, now)
		should = st
		return after, err
	})
	return should, err
}

// CancelTask fails a PENDING or RUNNING task and tells its cell.
func (s *Service) CancelTask(ctx context.Context, guid string) error {
	before, _, err := s.taskOp(ctx, guid, lifecycle.CancelTask)
	if err != nil {
		return err
	}
	if before.State == models.Task_Running && before.CellId != "" {
		cell, err := s.Cell(ctx, before.CellId)
		if err != nil {
			s.log.Info("cancelled task's cell is gone", "task_guid", guid, "cell", before.CellId)
			return nil
		}
		if err := s.cfg.Cells.CancelTask(ctx, cell, guid); err != nil {
			s.log.Error("telling cell to cancel task", "task_guid", guid, "cell", before.CellId, "err", err)
		}
	}
	return nil
}

// FailTask (deprecated) fails a task with a reason.
func (s *Service) FailTask(ctx context.Context, guid, reason string) error {
	_, _, err := s.taskOp(ctx, guid, func(t *models.Task, now int64) (*models.Task, error) {
		return lifecycle.FailTask(t, reason, now)
	})
	return err
}

// RejectTask returns a task to PENDING, or fails it once its retries are
// used up (lifecycle.RejectTask). As the reference's, it asks for no
// auction: convergence kicks the PENDING task after the kick interval. A
// failed task's event goes from the PENDING task the rejection left, as the
// reference rejects and then fails in two steps.
func (s *Service) RejectTask(ctx context.Context, guid, reason string) error {
	var stored, rejected, failed *models.Task
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if stored, err = tx.Task(guid); err != nil {
			return err
		}
		if rejected, failed, err = lifecycle.RejectTask(stored, reason, s.cfg.MaxTaskRetries, s.now()); err != nil {
			return err
		}
		if failed != nil {
			return tx.UpdateTask(failed)
		}
		return tx.UpdateTask(rejected)
	})
	switch {
	case err == nil && failed != nil:
		s.taskChanged(rejected, failed)
	case err == nil:
		s.taskChanged(stored, rejected)
	case errors.Is(err, models.ErrBadRequest) && stored != nil:
		// The reference publishes a change even when the task could not be
		// rejected: from an empty task to the task as it is.
		s.cfg.TaskEvents.Publish(models.NewTaskChangedEvent(&models.Task{}, stored))
	}
	return err
}

// CompleteTask records a task's outcome from its cell.
func (s *Service) CompleteTask(ctx context.Context, guid, cellID string, failed bool, reason, result string) error {
	_, _, err := s.taskOp(ctx, guid, func(t *models.Task, now int64) (*models.Task, error) {
		return lifecycle.CompleteTask(t, cellID, failed, reason, result, now)
	})
	return err
}

// ResolvingTask marks a COMPLETED task as being resolved by its owner.
func (s *Service) ResolvingTask(ctx context.Context, guid string) error {
	_, _, err := s.taskOp(ctx, guid, lifecycle.ResolvingTask)
	return err
}

// DeleteTask deletes a RESOLVING task.
func (s *Service) DeleteTask(ctx context.Context, guid string) error {
	var removed *models.Task
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if removed, err = tx.Task(guid); err != nil {
			return err
		}
		if err := lifecycle.DeleteTask(removed); err != nil {
			return err
		}
		return tx.DeleteTask(guid)
	})
	if err != nil {
		return err
	}
	s.cfg.TaskEvents.Publish(models.NewTaskRemovedEvent(removed))
	return nil
}

// Task returns one task.
func (s *Service) Task(ctx context.Context, guid string) (*models.Task, error) {
	return s.cfg.Store.Task(ctx, guid)
}

// UpsertDomain creates or refreshes a domain; ttl 0 never expires.
func (s *Service) UpsertDomain(ctx context.Context, domain string, ttl time.Duration) error {
	var expires time.Time
	if ttl > 0 {
		expires = s.cfg.Now().Add(ttl)
	}
	return s.cfg.Store.Update(ctx, func(tx store.Tx) error { return tx.UpsertDomain(domain, expires) })
}

// Domains lists the fresh domains.
func (s *Service) Domains(ctx context.Context) ([]string, error) {
	return s.cfg.Store.Domains(ctx, s.cfg.Now())
}
