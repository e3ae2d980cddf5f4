package interop_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/convergence"
	"github.com/diego-go/diego/src/bbs/converger"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
)

// Task rejections as the reference's task controller and SQL store make
// them, on each database, through the reference client.
func TestTaskRejectionsSQLite(t *testing.T)   { testRejections(t, "sqlite", testdb.SQLite(t)) }
func TestTaskRejectionsPostgres(t *testing.T) { testRejections(t, "postgres", testdb.Postgres(t)) }
func TestTaskRejectionsMySQL(t *testing.T)    { testRejections(t, "mysql", testdb.MySQL(t)) }

func testRejections(t *testing.T, driver, dsn string) {
	auct := &bbstest.Recorder{}
	h := bbstest.Start(t, bbstest.Options{Driver: driver, DSN: dsn, Auctioneer: auct}) // max_task_retries 3
	c := h.Client
	es, err := c.SubscribeToTaskEvents(logger)
	must(t, err)
	defer es.Close()
	time.Sleep(100 * time.Millisecond)
	o, url := newOwner(t, c, 200)
	def := taskDef("x")
	def.CompletionCallbackUrl = url
	must(t, c.DesireTask(logger, "", "rj", "rj", def))
	_, err = c.StartTask(logger, "", "rj", "cell-a")
	must(t, err)
	if got := auct.TaskGuids(); !slices.Equal(got, []string{"rj"}) {
		t.Fatalf("auctions after desire = %v", got)
	}

	// a rejection sends the task back to PENDING, still on its cell, and asks for no auction
	must(t, c.RejectTask(logger, "", "rj", "no room"))
	task, err := c.TaskByGuid(logger, "", "rj")
	must(t, err)
	if task.State != models.Task_Pending || task.CellId != "cell-a" || task.RejectionCount != 1 || task.RejectionReason != "no room" || task.Failed {
		t.Fatalf("rejected once = %+v", task)
	}
	if onCell, err := c.TasksByCellID(logger, "", "cell-a"); err != nil || len(onCell) != 1 {
		t.Fatalf("tasks on cell-a = %v, %v", onCell, err)
	}
	if got := auct.TaskGuids(); len(got) != 0 {
		t.Fatalf("a rejection asked for auctions %v", got)
	}
	// convergence kicks it once the kick interval has passed
	later := func() time.Time { return time.Now().Add(convergence.DefaultKickTaskAfter + time.Second) }
	conv, err := converger.New(converger.Config{Now: later}, h.Daemon.ServiceStore(), h.Daemon.Service(), nil, nil)
	must(t, err)
	_, err = conv.Pass(context.Background())
	must(t, err)
	if got := auct.TaskGuids(); !slices.Equal(got, []string{"rj"}) {
		t.Fatalf("auctions after convergence = %v", got)
	}

	// rejected again from RUNNING on another cell, then from PENDING: retries 2 and 3
	_, err = c.StartTask(logger, "", "rj", "cell-b")
	must(t, err)
	must(t, c.RejectTask(logger, "", "rj", "no room"))
	must(t, c.RejectTask(logger, "", "rj", "no room"))
	task, _ = c.TaskByGuid(logger, "", "rj")
	if task.State != models.Task_Pending || task.CellId != "cell-b" || task.RejectionCount != 3 {
		t.Fatalf("rejected thrice = %+v", task)
	}
	// the fourth rejection fails it with the rejection's reason (its event
	// below shows it: the callback deletes it at once)
	must(t, c.RejectTask(logger, "", "rj", "still no room"))
	testutil.Eventually(t, 10*time.Second, "the owner's callback", func() (bool, string) {
		calls, _, _ := o.snapshot()
		return len(calls) == 1 && calls[0].body.Failed && calls[0].body.FailureReason == "still no room", fmt.Sprintf("calls %+v", calls)
	})

	evs := collect(t, es, 7, 5*time.Second)
	want := []string{models.EventTypeTaskCreated, models.EventTypeTaskChanged, models.EventTypeTaskChanged, models.EventTypeTaskChanged,
		models.EventTypeTaskChanged, models.EventTypeTaskChanged, models.EventTypeTaskChanged}
	if got := types(evs); !slices.Equal(got, want) {
		t.Fatalf("task events = %v", got)
	}
	first := evs[2].(*models.TaskChangedEvent)
	if first.Before.State != models.Task_Running || first.After.State != models.Task_Pending || first.After.CellId != "cell-a" {
		t.Fatalf("first rejection event = %+v", first)
	}
	// as the reference rejects, then fails: the failure goes from the PENDING task the fourth rejection left
	last := evs[6].(*models.TaskChangedEvent)
	if a := last.After; last.Before.State != models.Task_Pending || last.Before.RejectionCount != 4 || last.Before.CellId != "cell-b" ||
		a.State != models.Task_Completed || !a.Failed || a.FailureReason != "still no room" || a.RejectionCount != 4 ||
		a.RejectionReason != "still no room" || a.CellId != "" {
		t.Fatalf("failing event = %+v", last)
	}

	rejectFinished(t, c, es)
}

// rejectFinished rejects tasks no longer PENDING or RUNNING: a bad request
// (and, as from the reference, a change event from an empty task), or, once
// the retries are used up, the failure's invalid transition.
func rejectFinished(t *testing.T, c bbs.InternalClient, es events.EventSource) {
	must(t, c.DesireTask(logger, "", "spent", "rj", taskDef("x")))
	for range 4 {
		must(t, c.RejectTask(logger, "", "spent", "no room"))
	}
	wantErr(t, c.RejectTask(logger, "", "spent", "late"), models.Error_InvalidStateTransition)
	must(t, c.DesireTask(logger, "", "done", "rj", taskDef("x")))
	_, err := c.StartTask(logger, "", "done", "cell-a")
	must(t, err)
	must(t, c.CompleteTask(logger, "", "done", "cell-a", false, "", "ok"))
	wantErr(t, c.RejectTask(logger, "", "done", "late"), models.Error_InvalidRequest)
	wantErr(t, c.RejectTask(logger, "", "nope", "late"), models.Error_ResourceNotFound)
	task, _ := c.TaskByGuid(logger, "", "done")
	if task.State != models.Task_Completed || task.RejectionCount != 0 || task.Failed {
		t.Fatalf("completed task after a rejection = %+v", task)
	}
	var changed *models.TaskChangedEvent
	for changed == nil || changed.After.TaskGuid != "done" || changed.After.State != models.Task_Completed || changed.Before.State == models.Task_Running {
		changed, _ = nextEvent(t, es, 30*time.Second).(*models.TaskChangedEvent)
	}
	if changed.Before.TaskGuid != "" || changed.Before.State != models.Task_Invalid {
		t.Fatalf("bad rejection's event = %+v", changed)
	}

	// reasons are cut to 1024 bytes, as the reference's columns
	must(t, c.DesireTask(logger, "", "long", "rj", taskDef("x")))
	must(t, c.RejectTask(logger, "", "long", strings.Repeat("r", 2000)))
	task, _ = c.TaskByGuid(logger, "", "long")
	if len(task.RejectionReason) != 1024 || !strings.HasSuffix(task.RejectionReason, "r(truncated)") {
		t.Fatalf("long rejection reason: %d bytes", len(task.RejectionReason))
	}
}

// TestNoTaskRetries: max_task_retries 0 fails a task on its first rejection.
func TestNoTaskRetries(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t),
		Configure: func(cfg *config.Config) { cfg.MaxTaskRetries = 0 }})
	c := h.Client
	must(t, c.DesireTask(logger, "", "once", "rj", taskDef("x")))
	must(t, c.RejectTask(logger, "", "once", "no"))
	task, err := c.TaskByGuid(logger, "", "once")
	must(t, err)
	if task.State != models.Task_Completed || !task.Failed || task.FailureReason != "no" || task.RejectionCount != 1 {
		t.Fatalf("task = %+v", task)
	}
}
