package cli

import (
	"context"

	"code.cloudfoundry.org/bbs/models"
)

// The task commands' requests and calls; their rows are in commands.go.

func taskFilter(c *call) func([]string) (models.TaskFilter, error) {
	var domain, cellID string
	c.str(&domain, "domain", "d", "", "only tasks of this domain")
	c.str(&cellID, "cell-id", "c", "", "only tasks on this cell")
	return func([]string) (models.TaskFilter, error) {
		return models.TaskFilter{Domain: domain, CellID: cellID}, nil
	}
}

func tasks(_ context.Context, k *conn, f models.TaskFilter) ([]*models.Task, error) {
	return k.bbs.TasksWithFilter(quiet, "", f)
}

func task(_ context.Context, k *conn, guid string) (*models.Task, error) {
	return k.bbs.TaskByGuid(quiet, "", guid)
}

// createTask desires a task from a JSON models.Task: task_guid, domain and
// the definition's fields at the top level (the reference tool's format).
func createTask(_ context.Context, k *conn, t *models.Task) (nothing, error) {
	if t.TaskDefinition == nil {
		t.TaskDefinition = &models.TaskDefinition{}
	}
	return nothing{}, k.bbs.DesireTask(quiet, "", t.TaskGuid, t.Domain, t.TaskDefinition)
}

// deleteTask resolves a completed task, then deletes it (as the reference
// tool does). It connects itself: a connection failure is reported as the
// deletion's.
func deleteTask(_ context.Context, k *conn, guid string) (nothing, error) {
	client, err := k.bbsClient()
	if err != nil {
		return nothing{}, err
	}
	if err := client.ResolvingTask(quiet, "", guid); err != nil {
		return nothing{}, err
	}
	return nothing{}, client.DeleteTask(quiet, "", guid)
}

// cancelTask connects itself, as deleteTask does.
func cancelTask(_ context.Context, k *conn, guid string) (nothing, error) {
	client, err := k.bbsClient()
	if err != nil {
		return nothing{}, err
	}
	return nothing{}, client.CancelTask(quiet, "", guid)
}
