// Package converger runs convergence on the serving BBS: every interval, and
// at once when a cell's presence disappears, it snapshots the cluster, lets
// the convergence package decide, and applies the plan through the service.
package converger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/convergence"
	"github.com/diego-go/diego/src/bbs/metrics"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/internal/serve"
)

// Applier is what the converger needs from the service.
type Applier interface {
	ApplyLRPAction(ctx context.Context, a *convergence.LRPAction) (bool, error)
	ApplyTaskAction(ctx context.Context, a *convergence.TaskAction) (bool, error)
	RequestAuctions(ctx context.Context, lrps []service.LRPStartRequest, tasks []*models.Task)
}

// Config tunes the loop.
type Config struct {
	Interval         time.Duration // between periodic passes (30s)
	CellPollInterval time.Duration // how often presences are checked for lost cells (1s)
	Workers          int           // actions applied in parallel (16)
	// RangeSize is how many desired LRPs (with their instances) a pass
	// reads and decides at a time (2,000): a pass's memory grows with it,
	// not with the cluster.
	RangeSize int
	Decide    convergence.Config
	Now       func() time.Time
}

func (c *Config) validate() error {
	if c.Interval <= 0 {
		c.Interval = 30 * time.Second
	}
	if c.CellPollInterval <= 0 {
		c.CellPollInterval = time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.RangeSize <= 0 {
		c.RangeSize = DefaultRangeSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c.Decide.Validate()
}

// DefaultRangeSize is Config.RangeSize's default: at the benchmark mix's
// 2.7 instances per LRP, some 5,000 instances a part.
const DefaultRangeSize = 2000

// Converger owns the loop.
type Converger struct {
	cfg     Config
	store   store.Store
	apply   Applier
	metrics *metrics.BBS
	log     *slog.Logger
	kick    chan string
	passes  atomic.Int64
}

// New builds a Converger; metrics may be nil.
func New(cfg Config, st store.Store, apply Applier, m *metrics.BBS, log *slog.Logger) (*Converger, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Converger{cfg: cfg, store: st, apply: apply, metrics: m, log: log, kick: make(chan string, 1)}, nil
}

// Passes is how many passes have completed.
func (c *Converger) Passes() int64 { return c.passes.Load() }

// Trigger asks for a pass as soon as possible (coalesced).
func (c *Converger) Trigger(reason string) {
	select {
	case c.kick <- reason:
	default:
	}
}

// Run converges until ctx ends: once at start, every Interval, and whenever
// the cell watcher sees a presence disappear.
func (c *Converger) Run(ctx context.Context) error {
	go c.watchCells(ctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		reason := "interval"
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case reason = <-c.kick:
			if !timer.Stop() {
				<-timer.C
			}
		}
		if _, err := c.Pass(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("convergence pass failed", "reason", reason, "err", err)
		}
		timer.Reset(c.cfg.Interval)
	}
}

// watchCells polls presences and triggers a pass when a cell disappears.
func (c *Converger) watchCells(ctx context.Context) {
	var known map[string]struct{}
	serve.Every(ctx, c.cfg.CellPollInterval, func(time.Time) {
		cells, err := cellIDs(ctx, c.store)
		if err != nil {
			c.log.Warn("watching cell presences", "err", err)
			return
		}
		for id := range known {
			if _, ok := cells[id]; !ok {
				c.log.Info("cell presence lost; converging now", "cell_id", id)
				c.Trigger("cell lost: " + id)
				break
			}
		}
		known = cells
	})
}

// Report summarises one pass.
type Report struct {
	Duration      time.Duration
	Counts        convergence.Counts
	LRPActions    int
	LRPApplied    int
	TaskActions   int
	TaskApplied   int
	AuctionedLRPs int
	Errors        int
	// MissingCells are the cells named by placed instances or running
	// tasks that hold no presence, sorted.
	MissingCells []string
	// Parts is how many ranges of process guids the pass read and decided
	// one at a time (Config.RangeSize).
	Parts int
	// Why counts the LRP actions by their decisions (Reason.String, e.g.
	// "unclaim+create-missing"); tasks' by "task-" and their kind.
	Why map[string]int
}

// Pass runs one convergence pass. It reads and decides the LRPs a range of
// process guids at a time (Config.RangeSize desired LRPs each), so that its
// memory is that of one range and the actions, not of the whole cluster;
// applies the actions; then does the same for the tasks.
func (c *Converger) Pass(ctx context.Context) (Report, error) {
	start := c.cfg.Now()
	shared, err := cluster(ctx, c.store, start)
	if err != nil {
		return Report{}, err
	}
	guids, err := c.store.DesiredProcessGuids(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("listing desired process guids: %w", err)
	}
	var (
		r       = Report{Why: map[string]int{}}
		missing = map[string]struct{}{}
		errs    atomic.Int64
	)
	add := func(plan convergence.Plan) {
		r.Counts.Add(plan.Counts)
		r.LRPActions += len(plan.LRPs)
		r.TaskActions += len(plan.Tasks)
		for _, cell := range plan.MissingCells {
			missing[cell] = struct{}{}
		}
		for _, a := range plan.LRPs {
			r.Why[a.Why.String()]++
		}
		for _, a := range plan.Tasks {
			r.Why["task-"+a.Kind.String()]++
		}
	}
	// Each part's snapshot is dropped once decided; only its actions (and
	// the rows they name) are kept, and all are applied together, so that
	// a pass waits for the database's writers once, not once a part.
	var actions []convergence.LRPAction
	for _, rg := range ranges(guids, c.cfg.RangeSize) {
		snap := shared
		snap.Now = c.cfg.Now().UnixNano()
		if err := readLRPs(ctx, c.store, rg, &snap); err != nil {
			return r, err
		}
		plan := convergence.Decide(snap, c.cfg.Decide)
		add(plan)
		actions = append(actions, plan.LRPs...)
		r.Parts++
	}
	c.applyLRPs(ctx, actions, &r, &errs)

	snap := shared
	snap.Now = c.cfg.Now().UnixNano()
	if snap.Tasks, err = store.Collect[models.Task](ctx, c.store.EachTask, store.TaskFilter{}); err != nil {
		return r, fmt.Errorf("listing tasks: %w", err)
	}
	plan := convergence.Decide(snap, c.cfg.Decide)
	add(plan)
	c.applyTasks(ctx, plan.Tasks, &r, &errs)

	r.MissingCells = slices.Sorted(maps.Keys(missing))
	r.Errors = int(errs.Load())
	r.Duration = c.cfg.Now().Sub(start)
	c.passes.Add(1)
	c.record(r)
	if r.LRPActions+r.TaskActions > 0 || r.Duration > 10*time.Second {
		c.log.Info("convergence pass", "duration", r.Duration, "lrp_actions", r.LRPActions, "lrp_applied", r.LRPApplied,
			"task_actions", r.TaskActions, "auctioned", r.AuctionedLRPs, "missing_cells", r.MissingCells, "errors", r.Errors,
			"parts", r.Parts, "why", r.Why)
	}
	if r.Errors > 0 {
		return r, errors.New("some convergence actions failed; the next pass retries them")
	}
	return r, nil
}

// applyLRPs applies LRP actions in parallel and requests the auctions of
// those that committed.
func (c *Converger) applyLRPs(ctx context.Context, actions []convergence.LRPAction, r *Report, errs *atomic.Int64) {
	committed := make([]bool, len(actions))
	c.parallel(len(actions), func(i int) {
		ok, err := c.apply.ApplyLRPAction(ctx, &actions[i])
		if err != nil {
			errs.Add(1)
			c.log.Error("applying convergence action", "process_guid", actions[i].Key.ProcessGuid,
				"index", actions[i].Key.Index, "why", actions[i].Why.String(), "err", err)
		}
		committed[i] = ok && err == nil
	})
	var done []convergence.LRPAction
	for i, ok := range committed {
		if ok {
			done = append(done, actions[i])
		}
	}
	r.LRPApplied += len(done)
	starts := convergence.Starts(done)
	if len(starts) == 0 {
		return
	}
	reqs := make([]service.LRPStartRequest, len(starts))
	for i, s := range starts {
		reqs[i] = service.LRPStartRequest{SchedulingInfo: s.Desired, Indices: s.Indices}
		r.AuctionedLRPs += len(s.Indices)
	}
	c.apply.RequestAuctions(ctx, reqs, nil)
}

// applyTasks applies the task actions in parallel and requests the
// auctions of the tasks that committed and need one.
func (c *Converger) applyTasks(ctx context.Context, actions []convergence.TaskAction, r *Report, errs *atomic.Int64) {
	taskOK := make([]bool, len(actions))
	c.parallel(len(actions), func(i int) {
		ok, err := c.apply.ApplyTaskAction(ctx, &actions[i])
		if err != nil {
			errs.Add(1)
			c.log.Error("applying task convergence action", "task_guid", actions[i].Task.TaskGuid, "kind", actions[i].Kind.String(), "err", err)
		}
		taskOK[i] = ok && err == nil
	})
	var tasks []*models.Task
	for i, ok := range taskOK {
		if ok {
			r.TaskApplied++
			if actions[i].Auction {
				tasks = append(tasks, actions[i].Task)
			}
		}
	}
	if len(tasks) > 0 {
		c.apply.RequestAuctions(ctx, nil, tasks)
	}
}

func (c *Converger) parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(c.cfg.Workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func (c *Converger) record(r Report) {
	m := c.metrics
	if m == nil {
		return
	}
	k := r.Counts
	m.ConvergenceRuns.Inc()
	m.ConvergenceDuration.Observe(r.Duration.Seconds())
	m.ConvergenceLast.SetToCurrentTime()
	for kind, v := range map[string]int{"desired": k.DesiredLRPs, "desired_instances": k.DesiredInstances, "missing": k.Missing,
		"extra": k.Extra + k.Orphaned, "crashed": k.Crashed, "suspect": k.Suspect, "evacuating": k.Evacuating,
		"unclaimed": k.Unclaimed, "claimed": k.Claimed, "running": k.Running} {
		m.LRPs.WithLabelValues(kind).Set(float64(v))
	}
	for state, v := range map[string]int{"pending": k.TasksPending, "running": k.TasksRunning, "completed": k.TasksCompleted, "resolving": k.TasksResolving} {
		m.Tasks.WithLabelValues(state).Set(float64(v))
	}
	for why, n := range r.Why {
		m.ConvergenceActions.WithLabelValues(why).Add(float64(n))
	}
}
