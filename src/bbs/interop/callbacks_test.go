package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/convergence"
	"github.com/diego-go/diego/src/bbs/converger"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
)

// owner is a task's owner: it answers completion callbacks with the given
// statuses in turn (the last one repeats) and records each callback with the
// task's state at that moment.
type owner struct {
	c        bbs.InternalClient
	statuses []int
	release  chan struct{} // when set, each callback waits for it to close

	mu       sync.Mutex
	calls    []ownerCall
	inFlight int
	maxIn    int
}

type ownerCall struct {
	body        models.TaskCallbackResponse
	contentType string
	state       models.Task_State
}

func newOwner(t *testing.T, c bbs.InternalClient, statuses ...int) (*owner, string) {
	o := &owner{c: c, statuses: statuses}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	return o, srv.URL + "/internal/v3/tasks/callback"
}

func (o *owner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var call ownerCall
	call.contentType = r.Header.Get("Content-Type")
	if err := json.NewDecoder(r.Body).Decode(&call.body); err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	if task, err := o.c.TaskByGuid(logger, "", call.body.TaskGuid); err == nil {
		call.state = task.State
	}
	o.mu.Lock()
	o.calls = append(o.calls, call)
	status := o.statuses[min(len(o.calls), len(o.statuses))-1]
	o.inFlight++
	o.maxIn = max(o.maxIn, o.inFlight)
	o.mu.Unlock()
	if o.release != nil {
		<-o.release
	}
	o.mu.Lock()
	o.inFlight--
	o.mu.Unlock()
	w.WriteHeader(status)
}

func (o *owner) snapshot() (calls []ownerCall, inFlight, maxIn int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]ownerCall(nil), o.calls...), o.inFlight, o.maxIn
}

// completeWithCallback runs a task with a callback to url through its cell's
// calls: desire, start, complete.
func completeWithCallback(t *testing.T, c bbs.InternalClient, guid, url string) {
	t.Helper()
	def := taskDef("x")
	def.CompletionCallbackUrl = url
	def.Annotation = "note-" + guid
	must(t, c.DesireTask(logger, "", guid, "cb", def))
	_, err := c.StartTask(logger, "", guid, "cell-cb")
	must(t, err)
	must(t, c.CompleteTask(logger, "", guid, "cell-cb", false, "", "result-"+guid))
}

func taskState(c bbs.InternalClient, guid string) string {
	task, err := c.TaskByGuid(logger, "", guid)
	if err != nil {
		return err.Error()
	}
	return task.State.String()
}

func TestTaskCompletionCallbacks(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	c := h.Client
	gone := models.ErrResourceNotFound.Error()

	for _, tc := range []struct {
		name      string
		statuses  []int
		wantCalls int
		wantState string // after the last call: gone (resolved and deleted) or RESOLVING
	}{
		{"200 resolves", []int{200}, 1, gone},
		{"400 resolves", []int{400}, 1, gone},
		{"500 resolves", []int{500}, 1, gone},
		{"503 is retried, then 200 resolves", []int{503, 200}, 2, gone},
		{"504 three times leaves it to convergence", []int{504}, 3, models.Task_Resolving.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, url := newOwner(t, c, tc.statuses...)
			guid := fmt.Sprintf("cb-%d-%d", tc.statuses[0], len(tc.statuses))
			completeWithCallback(t, c, guid, url)
			testutil.Eventually(t, 10*time.Second, "the callbacks and the task's end state", func() (bool, string) {
				calls, inFlight, _ := o.snapshot()
				state := taskState(c, guid)
				return len(calls) == tc.wantCalls && inFlight == 0 && state == tc.wantState,
					fmt.Sprintf("%d calls (%d in flight), task %s; want %d calls, task %s", len(calls), inFlight, state, tc.wantCalls, tc.wantState)
			})
			calls, _, _ := o.snapshot()
			for i, call := range calls {
				if call.state != models.Task_Resolving {
					t.Fatalf("call %d: the task was %s during its callback, want RESOLVING", i, call.state)
				}
				b := call.body
				if call.contentType != "application/json" || b.TaskGuid != guid || b.Failed || b.Result != "result-"+guid ||
					b.Annotation != "note-"+guid || b.CreatedAt == 0 {
					t.Fatalf("call %d: %s %+v", i, call.contentType, b)
				}
			}
		})
	}

	t.Run("convergence calls back again once the kick interval has passed", func(t *testing.T) {
		o, url := newOwner(t, c, 504, 504, 504, 200)
		completeWithCallback(t, c, "cb-converge", url)
		testutil.Eventually(t, 10*time.Second, "three attempts, then RESOLVING", func() (bool, string) {
			calls, in, _ := o.snapshot()
			s := taskState(c, "cb-converge")
			return len(calls) == 3 && in == 0 && s == models.Task_Resolving.String(), fmt.Sprintf("%d calls, task %s", len(calls), s)
		})
		later := func() time.Time { return time.Now().Add(convergence.DefaultKickTaskAfter + time.Second) }
		conv, err := converger.New(converger.Config{Now: later}, h.Daemon.ServiceStore(), h.Daemon.Service(), nil, nil)
		must(t, err)
		_, err = conv.Pass(context.Background())
		must(t, err)
		testutil.Eventually(t, 10*time.Second, "the fourth callback resolving the task", func() (bool, string) {
			calls, _, _ := o.snapshot()
			s := taskState(c, "cb-converge")
			return len(calls) == 4 && s == gone, fmt.Sprintf("%d calls, task %s", len(calls), s)
		})
		if calls, _, _ := o.snapshot(); calls[3].state != models.Task_Resolving {
			t.Fatalf("the task was %s during the convergence's callback, want RESOLVING", calls[3].state)
		}
	})

	t.Run("refused connection leaves it to convergence", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		addr := ln.Addr().String()
		ln.Close()
		completeWithCallback(t, c, "cb-refused", "http://"+addr+"/callback")
		testutil.Eventually(t, 10*time.Second, "the task RESOLVING", func() (bool, string) {
			s := taskState(c, "cb-refused")
			return s == models.Task_Resolving.String(), "task " + s
		})
	})
}

func TestCompletedTasksLeaveTheirCell(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	c := h.Client
	for _, guid := range []string{"done", "cancelled", "failed", "running"} {
		must(t, c.DesireTask(logger, "", guid, "cell", taskDef("x")))
		_, err := c.StartTask(logger, "", guid, "cell-x")
		must(t, err)
	}
	must(t, c.CompleteTask(logger, "", "done", "cell-x", false, "", "ok"))
	must(t, c.CancelTask(logger, "", "cancelled"))
	must(t, c.FailTask(logger, "", "failed", "gave up"))
	onCell, err := c.TasksByCellID(logger, "", "cell-x")
	must(t, err)
	if len(onCell) != 1 || onCell[0].TaskGuid != "running" {
		t.Fatalf("tasks on the cell = %v, want only the running one", onCell)
	}
	for _, guid := range []string{"done", "cancelled", "failed"} {
		task, err := c.TaskByGuid(logger, "", guid)
		must(t, err)
		if task.State != models.Task_Completed || task.CellId != "" {
			t.Fatalf("%s: %s on cell %q, want COMPLETED on none", guid, task.State, task.CellId)
		}
	}
}

func TestCallbackWorkersAreBounded(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t),
		Configure: func(cfg *config.Config) { cfg.TaskCallbackWorkers = 2 }})
	c := h.Client
	o, url := newOwner(t, c, 200)
	o.release = make(chan struct{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(o.release) }) }
	t.Cleanup(release) // before the owner's server closes, which waits for its handlers
	guids := []string{"b1", "b2", "b3", "b4", "b5"}
	for _, g := range guids {
		completeWithCallback(t, c, g, url)
	}
	testutil.Eventually(t, 10*time.Second, "two callbacks in flight", func() (bool, string) {
		_, in, _ := o.snapshot()
		return in == 2, fmt.Sprintf("%d in flight", in)
	})
	// the others wait for a worker, still COMPLETED (a worker marks its task RESOLVING first)
	time.Sleep(200 * time.Millisecond)
	waiting := 0
	for _, g := range guids {
		if taskState(c, g) == models.Task_Completed.String() {
			waiting++
		}
	}
	if _, in, maxIn := o.snapshot(); waiting != 3 || in != 2 || maxIn != 2 {
		t.Fatalf("%d tasks waiting, %d callbacks in flight (at most %d); want 3 waiting and 2 in flight", waiting, in, maxIn)
	}
	release()
	testutil.Eventually(t, 10*time.Second, "every task resolved", func() (bool, string) {
		left := 0
		for _, g := range guids {
			if taskState(c, g) != models.ErrResourceNotFound.Error() {
				left++
			}
		}
		return left == 0, fmt.Sprintf("%d tasks left", left)
	})
	if calls, _, maxIn := o.snapshot(); len(calls) != 5 || maxIn != 2 {
		t.Fatalf("%d callbacks, at most %d at once; want 5, at most 2", len(calls), maxIn)
	}
}
