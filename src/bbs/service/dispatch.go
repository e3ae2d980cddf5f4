package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// Dispatcher sends start requests to the auctioneer in the background, in
// batches, so that a slow or unreachable auctioneer never holds up a BBS
// write. Requests that do not fit in the queue are dropped with a warning:
// convergence re-requests UNCLAIMED instances and PENDING tasks later.
type Dispatcher struct {
	next  Auctioneer
	log   *slog.Logger
	flush time.Duration

	mu    sync.Mutex
	lrps  []LRPStartRequest // guarded by mu
	tasks []*models.Task    // guarded by mu
	limit int

	wake chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

// NewDispatcher starts a dispatcher in front of next: it sends what has
// queued every flush interval (or sooner once 1,000 requests wait), holding
// at most limit requests.
func NewDispatcher(next Auctioneer, flush time.Duration, limit int, log *slog.Logger) *Dispatcher {
	if flush <= 0 {
		flush = 50 * time.Millisecond
	}
	if limit <= 0 {
		limit = 100000
	}
	if log == nil {
		log = slog.Default()
	}
	d := &Dispatcher{next: next, log: log, flush: flush, limit: limit, wake: make(chan struct{}, 1), done: make(chan struct{})}
	d.wg.Add(1)
	go d.run()
	return d
}

// RequestLRPAuctions queues LRP start requests.
func (d *Dispatcher) RequestLRPAuctions(_ context.Context, reqs []LRPStartRequest) error {
	d.enqueue(len(reqs), "instances", "requests", func() { d.lrps = append(d.lrps, reqs...) })
	return nil
}

// RequestTaskAuctions queues task start requests.
func (d *Dispatcher) RequestTaskAuctions(_ context.Context, tasks []*models.Task) error {
	d.enqueue(len(tasks), "tasks", "tasks", func() { d.tasks = append(d.tasks, tasks...) })
	return nil
}

// enqueue runs add under the lock when n more requests fit in the queue and
// wakes the sender once enough wait; requests that do not fit are dropped
// with a warning naming them as what (logged under attr).
func (d *Dispatcher) enqueue(n int, what, attr string, add func()) {
	d.mu.Lock()
	if len(d.lrps)+len(d.tasks)+n > d.limit {
		d.mu.Unlock()
		d.log.Warn("auction queue full; convergence will re-request these "+what, attr, n)
		return
	}
	add()
	queued := len(d.lrps) + len(d.tasks)
	d.mu.Unlock()
	d.poke(queued)
}

func (d *Dispatcher) poke(queued int) {
	if queued >= 1000 {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

func (d *Dispatcher) run() {
	defer d.wg.Done()
	t := time.NewTicker(d.flush)
	defer t.Stop()
	for {
		select {
		case <-d.done:
			d.send()
			return
		case <-t.C:
		case <-d.wake:
		}
		d.send()
	}
}

func (d *Dispatcher) send() {
	d.mu.Lock()
	lrps, tasks := d.lrps, d.tasks
	d.lrps, d.tasks = nil, nil
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if len(lrps) > 0 {
		if err := d.next.RequestLRPAuctions(ctx, lrps); err != nil {
			d.log.Error("sending LRP start requests to the auctioneer; convergence will retry", "requests", len(lrps), "err", err)
		}
	}
	if len(tasks) > 0 {
		if err := d.next.RequestTaskAuctions(ctx, tasks); err != nil {
			d.log.Error("sending task start requests to the auctioneer; convergence will retry", "tasks", len(tasks), "err", err)
		}
	}
}

// Close sends what is queued and stops.
func (d *Dispatcher) Close() {
	close(d.done)
	d.wg.Wait()
}
