package storetest

import (
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
	"github.com/diego-go/diego/src/bbs/store"
)

func testTasks(t *testing.T, s store.Store) {
	t1 := NewTask("t1", "cf-a", "", models.Task_Pending)
	update(t, s, func(tx store.Tx) error { return tx.InsertTask(t1) })

	got, err := s.Task(ctx(t), "t1")
	if err != nil {
		t.Fatalf("Task: %v", err)
	}
	wantEqual(t, "task t1", got, t1)
	_, err = s.Task(ctx(t), "missing")
	wantErr(t, "Task(missing)", err, store.ErrNotFound)

	running := NewTask("t1", "cf-a", "cell-1", models.Task_Running)
	running.UpdatedAt = 1700000000000000099
	update(t, s, func(tx store.Tx) error {
		wantErr(t, "InsertTask(duplicate)", tx.InsertTask(NewTask("t1", "x", "", models.Task_Pending)), store.ErrExists)
		_, err := tx.Task("missing")
		wantErr(t, "tx.Task(missing)", err, store.ErrNotFound)
		cur, err := tx.Task("t1")
		if err != nil {
			return err
		}
		wantEqual(t, "tx.Task(t1)", cur, t1)
		if err := tx.UpdateTask(running); err != nil {
			return err
		}
		wantErr(t, "UpdateTask(missing)", tx.UpdateTask(NewTask("missing", "x", "", models.Task_Pending)), store.ErrNotFound)
		return nil
	})
	got, _ = s.Task(ctx(t), "t1")
	wantEqual(t, "task t1 after update", got, running)
	wantTaskGuids(t, s, store.TaskFilter{CellID: "cell-1"}, "t1")

	deleteTwice(t, s, "DeleteTask", func(tx store.Tx) error { return tx.DeleteTask("t1") })
	_, err = s.Task(ctx(t), "t1")
	wantErr(t, "Task(deleted)", err, store.ErrNotFound)
	wantTaskGuids(t, s, store.TaskFilter{})
}

func testTaskFilters(t *testing.T, s store.Store) {
	want := map[string]*models.Task{
		"t3": NewTask("t3", "cf-a", "cell-2", models.Task_Running),
		"t1": NewTask("t1", "cf-a", "cell-1", models.Task_Running),
		"t4": NewTask("t4", "cf-b", "", models.Task_Pending),
		"t2": NewTask("t2", "cf-b", "cell-1", models.Task_Completed),
	}
	update(t, s, func(tx store.Tx) error {
		for _, g := range []string{"t3", "t1", "t4", "t2"} {
			if err := tx.InsertTask(want[g]); err != nil {
				return err
			}
		}
		return nil
	})
	wantTaskGuids(t, s, store.TaskFilter{}, "t1", "t2", "t3", "t4")
	wantTaskGuids(t, s, store.TaskFilter{Domain: "cf-a"}, "t1", "t3")
	wantTaskGuids(t, s, store.TaskFilter{CellID: "cell-1"}, "t1", "t2")
	wantTaskGuids(t, s, store.TaskFilter{Domain: "cf-b", CellID: "cell-1"}, "t2")
	wantTaskGuids(t, s, store.TaskFilter{CellID: "none"})
	for _, task := range stream[models.Task](t, "EachTask", s.EachTask, store.TaskFilter{}) {
		wantEqual(t, "streamed task "+task.TaskGuid, task, want[task.TaskGuid])
	}
}

// testFinishedTasksLeaveTheirCell stores the lifecycle's completions of
// running tasks: as in the reference, a completed task (by its cell, by a
// cancel, by the deprecated fail) is on no cell, so a cell's list (the rep's
// bulk sync) shows only what it still runs.
func testFinishedTasksLeaveTheirCell(t *testing.T, s store.Store) {
	finish := map[string]func(*models.Task) (*models.Task, error){
		"completed": func(r *models.Task) (*models.Task, error) {
			return lifecycle.CompleteTask(r, "cell-1", false, "", "result", 2)
		},
		"cancelled": func(r *models.Task) (*models.Task, error) { return lifecycle.CancelTask(r, 2) },
		"failed":    func(r *models.Task) (*models.Task, error) { return lifecycle.FailTask(r, "gave up", 2) },
	}
	update(t, s, func(tx store.Tx) error {
		for _, g := range []string{"completed", "cancelled", "failed", "running"} {
			if err := tx.InsertTask(NewTask(g, "cf-a", "cell-1", models.Task_Running)); err != nil {
				return err
			}
		}
		return nil
	})
	wantTaskGuids(t, s, store.TaskFilter{CellID: "cell-1"}, "cancelled", "completed", "failed", "running")
	update(t, s, func(tx store.Tx) error {
		for g, fn := range finish {
			running, err := tx.Task(g)
			if err != nil {
				return err
			}
			done, err := fn(running)
			if err != nil {
				return err
			}
			if err := tx.UpdateTask(done); err != nil {
				return err
			}
		}
		return nil
	})
	wantTaskGuids(t, s, store.TaskFilter{CellID: "cell-1"}, "running")
	wantTaskGuids(t, s, store.TaskFilter{Domain: "cf-a"}, "cancelled", "completed", "failed", "running")
	for g := range finish {
		got, err := s.Task(ctx(t), g)
		if err != nil || got.State != models.Task_Completed || got.CellId != "" {
			t.Fatalf("task %s = %+v (%v), want COMPLETED on no cell", g, got, err)
		}
	}
}

func wantTaskGuids(t *testing.T, s store.Store, f store.TaskFilter, want ...string) {
	t.Helper()
	var got []string
	for _, task := range stream[models.Task](t, "EachTask", s.EachTask, f) {
		got = append(got, task.TaskGuid)
	}
	wantStrings(t, "EachTask("+jsonOf(f)+")", got, want)
}
