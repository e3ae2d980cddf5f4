package lifecycle

import (
	"fmt"

	"code.cloudfoundry.org/bbs/models"
)

// TaskCancelledReason is the failure reason a cancelled task records.
const TaskCancelledReason = "task was cancelled"

// MaxReasonBytes bounds a task's failure and rejection reasons, as the
// reference's columns do.
const MaxReasonBytes = 1024

// truncated marks a reason cut to MaxReasonBytes.
const truncated = "(truncated)"

// Truncate cuts s to max bytes the reference's way: a string of max bytes
// or more keeps its first max-11 bytes followed by "(truncated)".
func Truncate(s string, max int) string {
	if len(s) < max {
		return s
	}
	return s[:max-len(truncated)] + truncated
}

func invalidTransition(from, to models.Task_State) error {
	return models.NewError(models.Error_InvalidStateTransition,
		fmt.Sprintf("Cannot transition from %s to %s", from, to))
}

func touch(t *models.Task, now int64) *models.Task {
	n := t.Copy()
	n.UpdatedAt = now
	return n
}

// NewTask is a freshly desired PENDING task.
func NewTask(guid, domain string, def *models.TaskDefinition, now int64) *models.Task {
	return &models.Task{
		TaskGuid:       guid,
		Domain:         domain,
		TaskDefinition: def,
		State:          models.Task_Pending,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
}

// StartTask moves a PENDING task to RUNNING on cellID. Starting a task that is
// already RUNNING on that cell is not an error: shouldStart is false.
func StartTask(t *models.Task, cellID string, now int64) (after *models.Task, shouldStart bool, err error) {
	if t.State == models.Task_Running && t.CellId == cellID {
		return nil, false, nil
	}
	if t.State != models.Task_Pending {
		return nil, false, invalidTransition(t.State, models.Task_Running)
	}
	after = touch(t, now)
	after.State = models.Task_Running
	after.CellId = cellID
	return after, true, nil
}

// complete moves a task to COMPLETED. As in the reference, a completed task
// is no longer on any cell: its cell_id is cleared, so listing a cell's tasks
// shows only those it still runs.
func complete(t *models.Task, failed bool, reason, result string, now int64) *models.Task {
	after := touch(t, now)
	after.State = models.Task_Completed
	after.CellId = ""
	after.Failed = failed
	after.FailureReason = Truncate(reason, MaxReasonBytes)
	after.Result = result
	after.FirstCompletedAt = now
	return after
}

// CancelTask completes a PENDING or RUNNING task as failed.
func CancelTask(t *models.Task, now int64) (*models.Task, error) {
	if t.State != models.Task_Pending && t.State != models.Task_Running {
		return nil, invalidTransition(t.State, models.Task_Completed)
	}
	return complete(t, true, TaskCancelledReason, "", now), nil
}

// FailTask (deprecated route) completes a PENDING or RUNNING task as failed.
func FailTask(t *models.Task, reason string, now int64) (*models.Task, error) {
	if t.State != models.Task_Pending && t.State != models.Task_Running {
		return nil, invalidTransition(t.State, models.Task_Completed)
	}
	return complete(t, true, reason, "", now), nil
}

// RejectTask: a cell or the auctioneer could not run the task. As in the
// reference, a PENDING or RUNNING task goes back to PENDING on the cell it was
// on (cell_id kept, no new auction: convergence kicks it), counting the
// rejection and recording its reason. A task already rejected maxRetries
// times before this rejection is then failed with the rejection's reason:
// failed is that completed task and rejected the PENDING one between.
//
// Rejecting a task in any other state is a bad request; but when its count
// has reached maxRetries the reference tries to fail it instead, and the
// error is that failure's invalid transition.
func RejectTask(t *models.Task, reason string, maxRetries int, now int64) (rejected, failed *models.Task, err error) {
	exhausted := int(t.RejectionCount) >= maxRetries
	if t.State != models.Task_Pending && t.State != models.Task_Running {
		if exhausted {
			return nil, nil, invalidTransition(t.State, models.Task_Completed)
		}
		return nil, nil, models.ErrBadRequest
	}
	rejected = touch(t, now)
	rejected.RejectionCount++
	rejected.RejectionReason = Truncate(reason, MaxReasonBytes)
	rejected.State = models.Task_Pending
	if exhausted {
		failed = complete(rejected, true, reason, "", now)
	}
	return rejected, failed, nil
}

// CompleteTask records a RUNNING task's outcome reported by its cell.
func CompleteTask(t *models.Task, cellID string, failed bool, reason, result string, now int64) (*models.Task, error) {
	if t.State == models.Task_Running && t.CellId != cellID {
		return nil, models.NewError(models.Error_RunningOnDifferentCell,
			fmt.Sprintf("Running on cell %s not %s", t.CellId, cellID))
	}
	if t.State != models.Task_Running {
		return nil, invalidTransition(t.State, models.Task_Completed)
	}
	return complete(t, failed, reason, result, now), nil
}

// ResolvingTask: the owner has taken the result; COMPLETED -> RESOLVING.
func ResolvingTask(t *models.Task, now int64) (*models.Task, error) {
	if t.State != models.Task_Completed {
		return nil, invalidTransition(t.State, models.Task_Resolving)
	}
	after := touch(t, now)
	after.State = models.Task_Resolving
	return after, nil
}

// DeleteTask checks that a task may be deleted: only once RESOLVING.
func DeleteTask(t *models.Task) error {
	if t.State != models.Task_Resolving {
		return invalidTransition(t.State, models.Task_Resolving)
	}
	return nil
}
