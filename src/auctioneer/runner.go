package auctioneer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"code.cloudfoundry.org/rep"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/diego-go/diego/src/auction"
	"github.com/diego-go/diego/src/auctionapi"
)

// RunnerConfig wires a Runner. Cells, Reps and BBS are required.
type RunnerConfig struct {
	Cells CellLister
	Reps  rep.ClientFactory
	BBS   BBS
	// Auction tunes placement; start from auction.DefaultConfig(). Its
	// Seed is replaced each round (and logged, so a round can be replayed).
	Auction auction.Config
	// BatchInterval is how long requests gather after the first one
	// arrives before a round starts (default 100 ms).
	BatchInterval time.Duration
	// RetryInterval is the wait before retrying a batch whose cells could
	// not be listed, or work deferred by the starting-container limit
	// (default 1 s).
	RetryInterval time.Duration
	// Workers bounds concurrent calls to cells (default 1000) and
	// ReportWorkers concurrent calls to the BBS (default 32).
	Workers, ReportWorkers int
	Metrics                *Metrics // default: registered on a new registry
	Logger                 *slog.Logger
	// OnRound, if set, receives each round's report (from the runner's
	// goroutine: keep it short).
	OnRound func(RoundReport)
}

// Validate fills defaults and rejects a config that cannot work.
func (c *RunnerConfig) Validate() error {
	var errs []error
	if c.Cells == nil {
		errs = append(errs, errors.New("auctioneer: no cell lister"))
	}
	if c.Reps == nil {
		errs = append(errs, errors.New("auctioneer: no rep client factory"))
	}
	if c.BBS == nil {
		errs = append(errs, errors.New("auctioneer: no BBS client"))
	}
	if c.Auction.StartingContainerWeight < 0 || c.Auction.BinPackFirstFitWeight < 0 || c.Auction.StartingContainerCountMaximum < 0 {
		errs = append(errs, fmt.Errorf("auctioneer: auction weights and starting container maximum must not be negative: %+v", c.Auction))
	}
	if c.BatchInterval < 0 || c.RetryInterval < 0 || c.Workers < 0 || c.ReportWorkers < 0 {
		errs = append(errs, errors.New("auctioneer: intervals and worker counts must not be negative"))
	}
	if c.BatchInterval == 0 {
		c.BatchInterval = 100 * time.Millisecond
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = time.Second
	}
	if c.Workers == 0 {
		c.Workers = 1000
	}
	if c.ReportWorkers == 0 {
		c.ReportWorkers = 32
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}

// Runner queues start requests and places them in rounds.
type Runner struct {
	cfg     RunnerConfig
	log     *slog.Logger
	metrics *Metrics
	queue   *queue
	clients *cellClients
}

// NewRunner builds a Runner; Run (or Round) places what it is given.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Runner{
		cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics,
		queue:   newQueue(cfg.BatchInterval),
		clients: newCellClients(cfg.Reps),
	}, nil
}

// AddLRPs queues every index of reqs (which must be valid).
func (r *Runner) AddLRPs(reqs []auctionapi.LRPStartRequest) {
	var b auction.Batch
	for i := range reqs {
		b.LRPs = appendLRPs(b.LRPs, &reqs[i])
	}
	r.metrics.LRPsRequested.Add(float64(len(b.LRPs)))
	r.queue.add(b)
	r.updateQueueGauges()
}

// AddTasks queues tasks (which must be valid).
func (r *Runner) AddTasks(tasks []auctionapi.TaskStartRequest) {
	var b auction.Batch
	for i := range tasks {
		t := &tasks[i]
		b.Tasks = append(b.Tasks, auction.Task{TaskGuid: t.TaskGuid, Domain: t.Domain, Resource: t.Resource, Constraint: t.PlacementConstraint})
	}
	r.metrics.TasksRequested.Add(float64(len(b.Tasks)))
	r.queue.add(b)
	r.updateQueueGauges()
}

// appendLRPs appends one placement per index of r.
func appendLRPs(lrps []auction.LRP, r *auctionapi.LRPStartRequest) []auction.LRP {
	for _, idx := range r.Indices {
		lrps = append(lrps, auction.LRP{ProcessGuid: r.ProcessGuid, Domain: r.Domain, Index: idx, Resource: r.Resource, Constraint: r.PlacementConstraint})
	}
	return lrps
}

// Queued is the number of LRP instances and tasks waiting for a round.
func (r *Runner) Queued() (lrps, tasks int) { return r.queue.len() }

func (r *Runner) updateQueueGauges() {
	l, t := r.queue.len()
	r.metrics.QueuedLRPs.Set(float64(l))
	r.metrics.QueuedTasks.Set(float64(t))
}

// Run starts a round whenever work is queued and its batch interval has
// passed, until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		ready := r.queue.ready()
		if ready.IsZero() {
			select {
			case <-ctx.Done():
				return nil
			case <-r.queue.wake:
			}
			continue
		}
		if wait := time.Until(ready); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-r.queue.wake: // something may be ready sooner
				timer.Stop()
			case <-timer.C:
			}
			continue
		}
		r.Round(ctx)
	}
}

// newInstanceGuid returns a random (version 4) UUID.
func newInstanceGuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
