package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// CallbackAttempts is how many times a callback is POSTed before the task is
// left to convergence (the reference's taskworkpool tries 3 times).
const CallbackAttempts = 3

// CallbackWorkers delivers task completion callbacks as the reference does:
// the task is first moved to RESOLVING (so only one worker owns it); its
// owner's answer, whatever it is except 503 or 504, resolves it and the task
// is deleted; a 503, 504, timeout or closed connection is tried again, up to
// CallbackAttempts times. A task whose callback was not delivered stays
// RESOLVING, and convergence moves it back to COMPLETED after the kick
// interval and calls back again. At most Workers callbacks run at once.
type CallbackWorkers struct {
	queue  chan *models.Task
	slots  chan struct{} // one per callback in flight
	client *http.Client
	log    *slog.Logger

	// set by the Service
	resolving func(ctx context.Context, guid string) error
	delete    func(ctx context.Context, guid string) error

	ctx    context.Context // ends in-flight callbacks on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// NewCallbackWorkers delivers callbacks with at most n in flight and up to
// depth waiting. A nil client has a 30s timeout and no client certificate.
func NewCallbackWorkers(n, depth int, client *http.Client, log *slog.Logger) *CallbackWorkers {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &CallbackWorkers{queue: make(chan *models.Task, depth), slots: make(chan struct{}, max(n, 1)),
		client: client, log: log, ctx: ctx, cancel: cancel}
	w.wg.Add(1)
	go w.dispatch()
	return w
}

// Enqueue schedules a callback; when the queue is full it is left for
// convergence and logged.
func (w *CallbackWorkers) Enqueue(t *models.Task) {
	select {
	case w.queue <- t:
	default:
		w.log.Warn("task callback queue full; convergence will retry", "task_guid", t.TaskGuid)
	}
}

// Close stops taking callbacks, ends those in flight and waits for them.
func (w *CallbackWorkers) Close() {
	w.once.Do(w.cancel)
	w.wg.Wait()
}

// dispatch starts a worker per queued task once a slot is free.
func (w *CallbackWorkers) dispatch() {
	defer w.wg.Done()
	for {
		var t *models.Task
		select {
		case <-w.ctx.Done():
			return
		case t = <-w.queue:
		}
		select {
		case <-w.ctx.Done():
			return
		case w.slots <- struct{}{}:
		}
		w.wg.Add(1)
		go func() {
			defer func() { <-w.slots; w.wg.Done() }()
			if err := w.handle(w.ctx, t); err != nil {
				w.log.Error("task completion callback", "task_guid", t.TaskGuid, "url", t.CompletionCallbackUrl, "err", err)
			}
		}()
	}
}

// handle resolves one completed task through its callback.
func (w *CallbackWorkers) handle(ctx context.Context, t *models.Task) error {
	if t.CompletionCallbackUrl == "" {
		return nil
	}
	if err := w.resolving(ctx, t.TaskGuid); err != nil {
		return fmt.Errorf("marking task resolving before its callback: %w", err)
	}
	body, err := json.Marshal(&models.TaskCallbackResponse{
		TaskGuid: t.TaskGuid, Failed: t.Failed, FailureReason: t.FailureReason,
		Result: t.Result, Annotation: t.Annotation, CreatedAt: t.CreatedAt,
	})
	if err != nil {
		return fmt.Errorf("encoding callback: %w", err)
	}
	var status int
	for attempt := 1; attempt <= CallbackAttempts; attempt++ {
		status, err = w.post(ctx, t.CompletionCallbackUrl, body)
		switch {
		case err != nil && !retriable(err):
			return fmt.Errorf("callback failed; convergence will retry: %w", err)
		case err != nil:
			continue
		case status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
			continue
		}
		if err := w.delete(ctx, t.TaskGuid); err != nil {
			return fmt.Errorf("deleting task after its callback answered %d: %w", status, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("callback failed %d times; convergence will retry: %w", CallbackAttempts, err)
	}
	return fmt.Errorf("callback answered %d %d times; convergence will retry", status, CallbackAttempts)
}

func (w *CallbackWorkers) post(ctx context.Context, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// retriable: as in the reference, a timeout or a connection closed under
// the request is tried again; any other failure (refused, bad URL) is not.
func retriable(err error) bool {
	var ne net.Error
	return errors.Is(err, net.ErrClosed) || (errors.As(err, &ne) && ne.Timeout())
}
