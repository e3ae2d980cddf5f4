package auctioneer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/auction"
)

// RoundReport describes one auction round.
type RoundReport struct {
	Start time.Time
	Seed  uint64
	// Warmup marks the state fetch made on taking the lock (see Warm).
	Warmup bool
	// Err is set when the cells could not be listed; the batch was kept.
	Err error

	LRPs, Tasks int // in the batch
	Cells       int // presences listed
	// CellsFetched answered with their state (evacuating ones included).
	CellsFetched, CellsUnreachable, CellsEvacuating int

	// FetchStates covers listing cells and fetching their states; Decide
	// the placement decision; Perform sending work; Report telling the BBS
	// about failures; Total the whole round.
	FetchStates, Decide, Perform, Report, Total time.Duration

	LRPsPlaced, TasksPlaced int // accepted by a cell
	// LRPsFailed and TasksFailed include those a cell rejected
	// (LRPsRejected, TasksRejected); all were reported to the BBS.
	LRPsFailed, TasksFailed     int
	LRPsRejected, TasksRejected int
	// Unknown: sent to a cell whose work request failed in transport. They
	// are not reported (the cell may have taken them); convergence
	// re-auctions any that never start.
	LRPsUnknown, TasksUnknown int
	// Deferred by the starting-container limit, queued for a later round.
	LRPsDeferred, TasksDeferred int
}

// failure is a placement failure to report to the BBS.
type failure struct {
	lrp    *auction.LRP
	task   *auction.Task
	reason string
}

// cellListTimeout bounds listing the cells at the start of a round.
const cellListTimeout = 10 * time.Second

// Round places everything queued now: it lists cells, fetches their
// states, decides, sends each cell its work, reports failures to the BBS
// and re-queues deferred work. It returns at once if nothing is queued.
// Once started, a round runs to the end even if ctx is cancelled (every
// call in it has a timeout), so that stopping never turns the cells it
// had not reached yet into reported placement failures.
func (r *Runner) Round(ctx context.Context) RoundReport {
	ctx = context.WithoutCancel(ctx)
	rr := RoundReport{Start: time.Now(), Seed: uint64(time.Now().UnixNano())}
	batch := r.queue.drain()
	r.updateQueueGauges()
	rr.LRPs, rr.Tasks = len(batch.LRPs), len(batch.Tasks)
	if rr.LRPs == 0 && rr.Tasks == 0 {
		return rr
	}
	r.round(ctx, batch, &rr)
	r.finish(&rr)
	return rr
}

func (r *Runner) round(ctx context.Context, batch auction.Batch, rr *RoundReport) {
	lctx, cancel := context.WithTimeout(ctx, cellListTimeout)
	presences, err := r.cfg.Cells.Cells(lctx)
	cancel()
	if err != nil {
		rr.Err = err
		r.queue.addAt(batch, time.Now().Add(r.cfg.RetryInterval))
		r.updateQueueGauges()
		return
	}
	fetched := r.fetchStates(ctx, presences)
	rr.Cells = len(presences)
	rr.CellsUnreachable, rr.CellsEvacuating = fetched.unreachable, fetched.evacuating
	rr.CellsFetched = len(presences) - fetched.unreachable
	rr.FetchStates = time.Since(rr.Start)

	decideStart := time.Now()
	cfg := r.cfg.Auction
	cfg.Seed = rr.Seed
	result := auction.Schedule(fetched.states, batch, cfg)
	rr.Decide = time.Since(decideStart)

	var failures []failure
	for i := range result.FailedLRPs {
		failures = append(failures, failure{lrp: &result.FailedLRPs[i].LRP, reason: result.FailedLRPs[i].Reason})
	}
	for i := range result.FailedTasks {
		failures = append(failures, failure{task: &result.FailedTasks[i].Task, reason: result.FailedTasks[i].Reason})
	}
	rr.LRPsFailed, rr.TasksFailed = len(result.FailedLRPs), len(result.FailedTasks)

	performStart := time.Now()
	failures = append(failures, r.perform(ctx, fetched, result, rr)...)
	rr.Perform = time.Since(performStart)

	reportStart := time.Now()
	r.report(ctx, failures)
	rr.Report = time.Since(reportStart)

	rr.LRPsDeferred, rr.TasksDeferred = len(result.Deferred.LRPs), len(result.Deferred.Tasks)
	if rr.LRPsDeferred+rr.TasksDeferred > 0 {
		r.queue.addAt(result.Deferred, time.Now().Add(r.cfg.RetryInterval))
		r.updateQueueGauges()
	}
}

// finish records a round's metrics and logs it.
func (r *Runner) finish(rr *RoundReport) {
	rr.Total = time.Since(rr.Start)
	m := r.metrics
	if rr.Err != nil {
		r.log.Error("auction round failed: cells not listed; batch kept for a retry", "error", rr.Err,
			"lrp_instances", rr.LRPs, "tasks", rr.Tasks, "retry_in", r.cfg.RetryInterval)
	} else {
		m.RoundDuration.Observe(rr.Total.Seconds())
		m.FetchStatesDuration.Observe(rr.FetchStates.Seconds())
		m.DecideDuration.Observe(rr.Decide.Seconds())
		m.PerformDuration.Observe(rr.Perform.Seconds())
		m.CellsFetched.Set(float64(rr.CellsFetched))
		m.CellsUnreachable.Set(float64(rr.CellsUnreachable))
		m.CellsEvacuating.Set(float64(rr.CellsEvacuating))
		m.LRPsPlaced.Add(float64(rr.LRPsPlaced))
		m.TasksPlaced.Add(float64(rr.TasksPlaced))
		m.LRPsFailed.Add(float64(rr.LRPsFailed))
		m.TasksFailed.Add(float64(rr.TasksFailed))
		m.LRPsDeferred.Add(float64(rr.LRPsDeferred))
		m.TasksDeferred.Add(float64(rr.TasksDeferred))
		r.log.Info("auction round", "seed", rr.Seed, "lrp_instances", rr.LRPs, "tasks", rr.Tasks,
			"cells", rr.Cells, "cells_unreachable", rr.CellsUnreachable, "cells_evacuating", rr.CellsEvacuating,
			"lrps_placed", rr.LRPsPlaced, "lrps_failed", rr.LRPsFailed, "lrps_rejected", rr.LRPsRejected, "lrps_unknown", rr.LRPsUnknown,
			"tasks_placed", rr.TasksPlaced, "tasks_failed", rr.TasksFailed, "tasks_rejected", rr.TasksRejected, "tasks_unknown", rr.TasksUnknown,
			"lrps_deferred", rr.LRPsDeferred, "tasks_deferred", rr.TasksDeferred,
			"fetch_states", rr.FetchStates, "decide", rr.Decide, "perform", rr.Perform, "report", rr.Report, "total", rr.Total)
	}
	if r.cfg.OnRound != nil {
		r.cfg.OnRound(*rr)
	}
}

// perform sends each winning cell its work in parallel and returns the
// work cells rejected as failures.
func (r *Runner) perform(ctx context.Context, fetched fetchResult, result auction.Result, rr *RoundReport) []failure {
	type job struct {
		cell  *liveCell
		id    string
		lrps  []auction.LRP
		tasks []auction.Task
	}
	var jobs []job
	var failures []failure
	ids := make(map[string]bool, len(result.LRPs)+len(result.Tasks))
	for id := range result.LRPs {
		ids[id] = true
	}
	for id := range result.Tasks {
		ids[id] = true
	}
	for id := range ids {
		lrps, tasks := result.LRPs[id], result.Tasks[id]
		c, ok := fetched.cells[id]
		if !ok { // the decision named a cell it was not given: never send blind
			for i := range lrps {
				failures = append(failures, failure{lrp: &lrps[i], reason: "internal error: placed on unknown cell " + id})
			}
			for i := range tasks {
				failures = append(failures, failure{task: &tasks[i], reason: "internal error: placed on unknown cell " + id})
			}
			rr.LRPsFailed += len(lrps)
			rr.TasksFailed += len(tasks)
			continue
		}
		if len(lrps)+len(tasks) > 0 {
			jobs = append(jobs, job{cell: c, id: id, lrps: lrps, tasks: tasks})
		}
	}

	var mu sync.Mutex
	forEach(ctx, len(jobs), r.cfg.Workers, func(i int) {
		j := jobs[i]
		work := rep.Work{CellID: j.id, LRPs: make([]rep.LRP, len(j.lrps)), Tasks: make([]rep.Task, len(j.tasks))}
		for k, l := range j.lrps {
			work.LRPs[k] = rep.NewLRP(newInstanceGuid(), models.NewActualLRPKey(l.ProcessGuid, l.Index, l.Domain), l.Resource, l.Constraint)
		}
		for k, t := range j.tasks {
			work.Tasks[k] = rep.NewTask(t.TaskGuid, t.Domain, t.Resource, t.Constraint)
		}
		rejected, err := j.cell.client.Perform(discardLager, work)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			r.metrics.PerformFailures.Inc()
			r.log.Error("sending work to cell failed; leaving it to convergence", "cell_id", j.id,
				"lrp_instances", len(j.lrps), "tasks", len(j.tasks), "error", err)
			rr.LRPsUnknown += len(j.lrps)
			rr.TasksUnknown += len(j.tasks)
			return
		}
		rejectedLRPs := make(map[lrpKey]bool, len(rejected.LRPs))
		for _, l := range rejected.LRPs {
			rejectedLRPs[lrpKey{l.ProcessGuid, l.Index}] = true
		}
		rejectedTasks := make(map[string]bool, len(rejected.Tasks))
		for _, t := range rejected.Tasks {
			rejectedTasks[t.TaskGuid] = true
		}
		reason := fmt.Sprintf("cell %s rejected the work", j.id)
		for k := range j.lrps {
			if rejectedLRPs[lrpKey{j.lrps[k].ProcessGuid, j.lrps[k].Index}] {
				failures = append(failures, failure{lrp: &j.lrps[k], reason: reason})
				rr.LRPsRejected++
				rr.LRPsFailed++
			} else {
				rr.LRPsPlaced++
			}
		}
		for k := range j.tasks {
			if rejectedTasks[j.tasks[k].TaskGuid] {
				failures = append(failures, failure{task: &j.tasks[k], reason: reason})
				rr.TasksRejected++
				rr.TasksFailed++
			} else {
				rr.TasksPlaced++
			}
		}
		if n := len(rejected.LRPs) + len(rejected.Tasks); n > 0 {
			r.log.Warn("cell rejected work", "cell_id", j.id, "lrp_instances", len(rejected.LRPs), "tasks", len(rejected.Tasks))
		}
	})
	return failures
}

// report tells the BBS about each failure, in parallel.
func (r *Runner) report(ctx context.Context, failures []failure) {
	forEach(ctx, len(failures), r.cfg.ReportWorkers, func(i int) {
		f := failures[i]
		var err error
		if f.lrp != nil {
			key := models.NewActualLRPKey(f.lrp.ProcessGuid, f.lrp.Index, f.lrp.Domain)
			err = r.cfg.BBS.FailActualLRP(ctx, &key, f.reason)
			if err != nil {
				r.log.Warn("reporting failed placement to the BBS failed", "process_guid", f.lrp.ProcessGuid, "index", f.lrp.Index, "reason", f.reason, "error", err)
			}
		} else {
			err = r.cfg.BBS.RejectTask(ctx, f.task.TaskGuid, f.reason)
			if err != nil {
				r.log.Warn("rejecting task at the BBS failed", "task_guid", f.task.TaskGuid, "reason", f.reason, "error", err)
			}
		}
		if err != nil {
			r.metrics.FailureReportFailures.Inc()
		}
	})
}
