package cli

import (
	"context"
	"fmt"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/cli/render"
)

func tasks(ctx context.Context, c *call) error {
	var domain, cellID string
	c.str(&domain, "domain", "d", "", "only tasks of this domain")
	c.str(&cellID, "cell-id", "c", "", "only tasks on this cell")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	list, err := client.TasksWithFilter(quiet, "", models.TaskFilter{Domain: domain, CellID: cellID})
	if err != nil {
		return fmt.Errorf("listing tasks: %w", err)
	}
	return render.Print(c.stdout, c.format, list, render.TaskHeader, render.TaskRow)
}

func task(ctx context.Context, c *call) error {
	args, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	t, err := client.TaskByGuid(quiet, "", args[0])
	if err != nil {
		return fmt.Errorf("getting task %s: %w", args[0], err)
	}
	return render.Print(c.stdout, c.format, []*models.Task{t}, render.TaskHeader, render.TaskRow)
}

// createTask desires a task from a JSON models.Task: task_guid, domain and
// the definition's fields at the top level (the reference tool's format).
func createTask(ctx context.Context, c *call) error {
	args, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	var t models.Task
	if err := readSpec(args[0], &t); err != nil {
		return c.usageError(err)
	}
	if t.TaskDefinition == nil {
		t.TaskDefinition = &models.TaskDefinition{}
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	if err := client.DesireTask(quiet, "", t.TaskGuid, t.Domain, t.TaskDefinition); err != nil {
		return fmt.Errorf("creating task %s: %w", t.TaskGuid, err)
	}
	return nil
}

// deleteTask resolves a completed task, then deletes it (as the reference
// tool does).
func deleteTask(ctx context.Context, c *call) error {
	return taskOp(c, "deleting", func(guid string) error {
		client, err := c.bbs()
		if err != nil {
			return err
		}
		if err := client.ResolvingTask(quiet, "", guid); err != nil {
			return err
		}
		return client.DeleteTask(quiet, "", guid)
	})
}

func cancelTask(ctx context.Context, c *call) error {
	return taskOp(c, "cancelling", func(guid string) error {
		client, err := c.bbs()
		if err != nil {
			return err
		}
		return client.CancelTask(quiet, "", guid)
	})
}

func taskOp(c *call, what string, op func(guid string) error) error {
	args, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	if err := op(args[0]); err != nil {
		return fmt.Errorf("%s task %s: %w", what, args[0], err)
	}
	return nil
}
