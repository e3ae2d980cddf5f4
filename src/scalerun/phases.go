package scalerun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/simcells"
	"github.com/diego-go/diego/src/scalebench"
)

// ramp desires every process and waits for every instance RUNNING.
func (r *run) ramp(ctx context.Context, rep *scalebench.Report, bbsMetrics scalebench.Scraper) error {
	before, err := bbsMetrics.Scrape(ctx)
	if err != nil {
		return fmt.Errorf("scraping the BBS: %w", err)
	}
	r.phase("desiring %d instances in %d LRPs with %d clients", r.total, len(r.sizes), r.cfg.DesireConcurrency)
	tty := false
	if f, ok := r.cfg.Progress.(*os.File); ok {
		tty = scalebench.IsTerminal(f)
	}
	bar := scalebench.NewProgress(r.cfg.Progress, "RUNNING", int64(r.total), scalebench.ProgressConfig{TTY: tty})
	start := time.Now()
	desireErr := make(chan error, 1)
	dctx, stopDesiring := context.WithCancel(ctx) // a failed ramp desires no more
	defer stopDesiring()
	go func() { desireErr <- r.desireAll(dctx) }()
	waitErr := r.allRunning(ctx, "every instance RUNNING", bar, func() (bool, error) {
		select {
		case err := <-desireErr:
			desireErr <- err
			return err == nil, err
		default:
			return false, nil
		}
	})
	secs := time.Since(start).Seconds()
	rep.Ramp = &scalebench.Ramp{Seconds: secs, PlacementsPerSecond: float64(r.running.Counts().Indexes) / secs, AllRunning: waitErr == nil}
	if after, err := bbsMetrics.Scrape(ctx); err == nil {
		rep.LatencyRamp = scalebench.HistogramDelta(before, after, bbsRequests)
		rep.LatencyRamp = append(rep.LatencyRamp, scalebench.HistogramDeltaAll(before, after, bbsRequests, "all routes"))
	}
	if waitErr != nil {
		return fmt.Errorf("ramp: %w", waitErr)
	}
	r.phase("all %d instances RUNNING in %.1fs (%.0f placements/s)", r.total, secs, rep.Ramp.PlacementsPerSecond)
	return nil
}

// desireAll desires every process with DesireConcurrency clients,
// retrying each up to 3 times (a conflict means an earlier try landed).
func (r *run) desireAll(ctx context.Context) error {
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range r.cfg.DesireConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var err error
				for range 3 {
					err = r.ctl.client.DesireLRP(r.log, "", desiredLRP(i, r.sizes[i]))
					if err == nil || models.ConvertError(err).Type == models.Error_ResourceExists {
						err = nil
						break
					}
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("desiring %s: %w", processGuid(i), err))
					mu.Unlock()
					continue
				}
				r.running.SetDesired(processGuid(i), r.sizes[i])
				r.desired.Add(int64(r.sizes[i]))
			}
		}()
	}
	for i := range r.sizes {
		select {
		case next <- i:
		case <-ctx.Done():
			close(next)
			wg.Wait()
			return ctx.Err()
		}
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// steady measures BBS latency, convergence and event lag with nothing
// changing, for SteadyWindow.
func (r *run) steady(ctx context.Context, rep *scalebench.Report, bbsMetrics scalebench.Scraper) error {
	r.phase("steady state for %v", r.cfg.SteadyWindow)
	before, err := bbsMetrics.Scrape(ctx)
	if err != nil {
		return fmt.Errorf("scraping the BBS: %w", err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(r.cfg.SteadyWindow):
	}
	after, err := bbsMetrics.Scrape(ctx)
	if err != nil {
		return fmt.Errorf("scraping the BBS: %w", err)
	}
	rep.LatencySteady = append(scalebench.HistogramDelta(before, after, bbsRequests),
		scalebench.HistogramDeltaAll(before, after, bbsRequests, "all routes"))
	conv := scalebench.HistogramDeltaAll(before, after, "bbs_convergence_duration_seconds", "convergence")
	rep.Convergence = &conv
	r.phase("steady: %d requests, %d convergence passes (p99 %.3fs)", rep.LatencySteady[len(rep.LatencySteady)-1].Count, conv.Count, conv.P99)
	return nil
}

// onCell lists the instances on cellID.
func (r *run) onCell(cellID string) ([]*models.ActualLRP, error) {
	lrps, err := r.ctl.client.ActualLRPs(r.log, "", models.ActualLRPFilter{CellID: cellID})
	if err != nil {
		return nil, fmt.Errorf("listing %s's instances: %w", cellID, err)
	}
	return lrps, nil
}

// loseCell stops the busiest of the first cells (as SIGTERM stops a rep)
// and times until its instances are RUNNING elsewhere.
func (r *run) loseCell(ctx context.Context, rep *scalebench.Report) error {
	var victim *simcells.Cell
	n := -1
	for _, c := range r.cells.All()[:min(5, r.cfg.Cells)] {
		lrps, err := r.onCell(c.ID)
		if err != nil {
			return err
		}
		if len(lrps) > n {
			victim, n = c, len(lrps)
		}
	}
	r.phase("losing %s (%d instances)", victim.ID, n)
	start := time.Now()
	if err := victim.Stop(ctx); err != nil {
		return fmt.Errorf("stopping %s: %w", victim.ID, err)
	}
	if err := r.allRunning(ctx, victim.ID+"'s instances RUNNING elsewhere", nil, r.cellsEmpty([]string{victim.ID})); err != nil {
		return fmt.Errorf("cell loss: %w", err)
	}
	rep.CellLoss = &scalebench.CellLoss{Instances: n, Seconds: time.Since(start).Seconds()}
	r.phase("%s's %d instances RUNNING elsewhere in %.1fs", victim.ID, n, rep.CellLoss.Seconds)
	return nil
}

// cellsEmpty holds when the BBS lists no instance on any of ids.
func (r *run) cellsEmpty(ids []string) func() (bool, error) {
	return func() (bool, error) {
		for _, id := range ids {
			lrps, err := r.onCell(id)
			if err != nil || len(lrps) > 0 {
				return false, err
			}
		}
		return true, nil
	}
}

// drain evacuates DrainFraction of the cells (the last ones),
// DrainInFlight at a time, stopping each once it has evacuated, and times
// until every instance is RUNNING on the others.
func (r *run) drain(ctx context.Context, rep *scalebench.Report) error {
	all := r.cells.All()
	k := max(1, int(float64(r.cfg.Cells)*r.cfg.DrainFraction+0.5))
	drained := all[len(all)-k:]
	r.phase("draining %d cells, %d at a time", k, r.cfg.DrainInFlight)
	before := r.running.Counts()
	r.running.SampleDipsFromNow()
	start := time.Now()
	sem := make(chan struct{}, r.cfg.DrainInFlight)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	ids := make([]string, 0, k)
	for _, c := range drained {
		ids = append(ids, c.ID)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := r.evacuate(ctx, c); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := r.allRunning(ctx, "the drained cells' instances RUNNING elsewhere", nil, r.cellsEmpty(slices.Clip(ids))); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	after := r.running.Counts()
	rep.Drain = &scalebench.Drain{Cells: k, Seconds: time.Since(start).Seconds(),
		Dips: after.Dips - before.Dips, DippedProcesses: after.DippedProcesses - before.DippedProcesses}
	rep.Drain.BelowDesired = rep.Drain.Dips > 0
	rep.Drain.Samples = r.running.Dips()
	for _, d := range rep.Drain.Samples {
		r.phase("below desired: %s index %d (%s) after %q: %d of %d RUNNING", d.Process, d.Index, d.Presence, d.Event, d.Running, d.Desired)
	}
	r.phase("drained %d cells in %.1fs; RUNNING below desired: %v (%d dips)", k, rep.Drain.Seconds, rep.Drain.BelowDesired, rep.Drain.Dips)
	return nil
}

// evacuate drains one cell as the rep's evacuation does and stops it once
// it has evacuated.
func (r *run) evacuate(ctx context.Context, c *simcells.Cell) error {
	c.Daemon.Evacuate(ctx)
	select {
	case <-c.Daemon.Evacuated():
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(r.cfg.PhaseTimeout):
		return fmt.Errorf("%s did not evacuate within %v", c.ID, r.cfg.PhaseTimeout)
	}
	if err := c.Stop(ctx); err != nil {
		return fmt.Errorf("stopping %s: %w", c.ID, err)
	}
	return nil
}
