package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// CallbackWorkers POSTs task completion callbacks to their owners and, on a
// 2xx answer, resolves and deletes the task. Undelivered callbacks are left
// COMPLETED for convergence to retry.
type CallbackWorkers struct {
	queue   chan *models.Task
	client  *http.Client
	log     *slog.Logger
	resolve func(ctx context.Context, guid string) error
	wg      sync.WaitGroup
	once    sync.Once
	done    chan struct{}
}

// NewCallbackWorkers starts n workers with a queue of size depth.
func NewCallbackWorkers(n, depth int, client *http.Client, log *slog.Logger) *CallbackWorkers {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	w := &CallbackWorkers{queue: make(chan *models.Task, depth), client: client, log: log, done: make(chan struct{})}
	for i := 0; i < n; i++ {
		w.wg.Add(1)
		go w.run()
	}
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

// Close stops the workers after the callbacks in flight.
func (w *CallbackWorkers) Close() {
	w.once.Do(func() { close(w.done) })
	w.wg.Wait()
}

func (w *CallbackWorkers) run() {
	defer w.wg.Done()
	for {
		select {
		case <-w.done:
			return
		case t := <-w.queue:
			if err := w.deliver(t); err != nil {
				w.log.Error("task completion callback", "task_guid", t.TaskGuid, "url", t.CompletionCallbackUrl, "err", err)
			}
		}
	}
}

func (w *CallbackWorkers) deliver(t *models.Task) error {
	body, err := json.Marshal(&models.TaskCallbackResponse{
		TaskGuid: t.TaskGuid, Failed: t.Failed, FailureReason: t.FailureReason,
		Result: t.Result, Annotation: t.Annotation, CreatedAt: t.CreatedAt,
	})
	if err != nil {
		return fmt.Errorf("encoding callback: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		resp, err := w.client.Post(t.CompletionCallbackUrl, "application/json", bytes.NewReader(body))
		if err != nil {
			lastErr = err
		} else {
			resp.Body.Close()
			switch {
			case resp.StatusCode >= 200 && resp.StatusCode < 300:
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				return w.resolve(ctx, t.TaskGuid)
			case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout:
				lastErr = fmt.Errorf("callback answered %d", resp.StatusCode)
			default:
				return fmt.Errorf("callback answered %d; leaving task for convergence", resp.StatusCode)
			}
		}
		select {
		case <-w.done:
			return lastErr
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return lastErr
}
