package scalerun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/sim"
	"github.com/diego-go/diego/src/rep/daemon"
	"github.com/diego-go/diego/src/rep/simcells"
	"github.com/diego-go/diego/src/scalebench"
)

const bbsRequests = "bbs_request_duration_seconds"

// run is one benchmark run's state.
type run struct {
	cfg     Config
	log     lager.Logger
	ctl     *control
	cells   *simcells.Cells
	meter   *scalebench.LagMeter
	running *scalebench.Running
	sizes   []int // instances per process
	total   int
	desired atomic.Int64 // instances desired so far
	started time.Time
	resubs  uint64 // LagStats.Resubscribed when the counter was last reset
	// killedBBS is the active BBS's cost sampled just before the failover
	// killed it.
	killedBBS *scalebench.ComponentCost
}

// Run runs the benchmark, writes report.json, plot.svg and report.md to
// cfg.Out and returns the report. A phase that fails ends the run with
// the report so far (written too) and the error.
func Run(ctx context.Context, cfg Config) (*scalebench.Report, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, d := range []string{cfg.Dir, cfg.Out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	r := &run{cfg: cfg, log: lager.NewLogger("bench-scale"), running: scalebench.NewRunning(), sizes: mix(cfg.Instances), total: cfg.Instances}
	rep := &scalebench.Report{Preset: cfg.Preset, Database: cfg.DBDriver, Cells: cfg.Cells, Instances: cfg.Instances, ControlNice: cfg.ControlNice, BBSMemoryLimitMB: cfg.BBSMemoryLimitMB,
		LocketEmbedded: cfg.DBDriver == "sqlite", CellPresenceTTL: cfg.CellPresenceTTL, ConvergenceInterval: cfg.ConvergenceInterval, Processes: len(r.sizes), Started: time.Now().UTC(), Machine: scalebench.ThisMachine()}
	runErr := r.measure(ctx, rep)
	outErr := writeOutputs(cfg.Out, rep)
	// The event streams close first: the cells' removals would only flood
	// them, and a subscription the busy BBS leaves unanswered once hung
	// the driver here (Close is now bounded). Then the cells, with the BBS
	// answering: each removes its instances, a few at a time, until the
	// minute is up (the control plane's stop ends the rest).
	if r.meter != nil {
		if err := r.meter.Close(); err != nil {
			cfg.Logger.Warn("closing the event streams", "err", err)
		}
	}
	if r.cells != nil {
		r.phase("stopping the cells")
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := r.cells.Stop(sctx); err != nil {
			cfg.Logger.Warn("stopping the cells", "err", err)
			if sctx.Err() != nil {
				r.phase("the cells did not stop within a minute; leaving them")
			}
		}
		cancel()
	}
	if r.ctl != nil {
		r.ctl.stop()
	}
	if outErr != nil {
		return rep, errors.Join(runErr, outErr)
	}
	return rep, runErr
}

func (r *run) phase(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "[%6.1fs] %s\n", time.Since(r.started).Seconds(), fmt.Sprintf(format, args...))
}

// measure runs the phases, filling rep as it goes.
func (r *run) measure(ctx context.Context, rep *scalebench.Report) error {
	cfg := r.cfg
	r.started = time.Now()
	r.phase("starting Locket, the BBS and the auctioneer (%s)", cfg.DBDriver)
	ctl, err := startControl(ctx, cfg)
	if err != nil {
		return err
	}
	r.ctl = ctl
	for _, name := range []string{"bbs", "auctioneer"} {
		if addr := ctl.debug[name]; addr != "" {
			r.phase("%s profiles: http://%s/debug/pprof/", name, addr)
		}
	}
	if cfg.Pprof {
		addr, stop, err := servePprof()
		if err != nil {
			return err
		}
		defer stop()
		r.phase("cells' and driver's profiles: http://%s/debug/pprof/", addr)
	}
	per := cfg.perCell()
	r.phase("starting %d simulated cells (%d containers each)", cfg.Cells, per)
	r.cells, err = simcells.Start(ctx, simcells.Config{
		Count: cfg.Cells, Zones: []string{"z1", "z2", "z3"},
		BBSAddress: ctl.bbsURL, LocketAddress: ctl.locketAddr, Certs: ctl.certs, Dir: filepath.Join(cfg.Dir, "cells"),
		Sim: sim.Config{StartDelay: host.Duration(cfg.StartDelay),
			Settings: host.Settings{MemoryMB: 256 * int64(per), DiskMB: 1024 * int64(per), MaxContainers: per}},
		Tweak: func(_ int, s *daemon.Settings) {
			s.EvacuationPollingInterval = daemon.Duration(cfg.EvacuationPollingInterval)
			if cfg.CellSyncInterval > 0 {
				s.SyncInterval = daemon.Duration(cfg.CellSyncInterval)
			}
			if cfg.CellPresenceTTL > 0 {
				s.PresenceTTL = daemon.Duration(cfg.CellPresenceTTL)
			}
		},
		Logger: cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("starting the cells: %w", err)
	}
	if err := r.poll(ctx, "the BBS to list every cell", func() (bool, error) {
		cs, err := ctl.client.Cells(r.log, "")
		return err == nil && len(cs) == cfg.Cells, nil
	}); err != nil {
		return err
	}
	subs := cfg.totalSubscribers()
	if cfg.Unfiltered {
		r.phase("subscribing %d event-stream subscribers (the whole stream each)", subs)
	} else {
		r.phase("subscribing %d event-stream subscribers (%d filtered to a cell, %d to the whole stream)", subs, cfg.Subscribers, cfg.GlobalSubscribers)
	}
	frames, err := ctl.streamClient()
	if err != nil {
		return err
	}
	r.meter, err = scalebench.StartLag(ctx, scalebench.LagConfig{
		Subscribers: subs, ConnectParallelism: 16, Resubscribe: true, Observe: r.running.Observe,
		Subscribe: func(i int) (events.EventSource, error) {
			if i == 0 { // the one that counts RUNNING decodes the events
				return ctl.client.SubscribeToInstanceEvents(r.log)
			}
			// The others read only names and times: decoding every event
			// a thousand times over cost this process more CPU than the
			// BBS it measures.
			// Only the lock holder serves: the first BBS that answers.
			var errs []error
			for _, u := range strings.Split(ctl.bbsURL, ",") {
				src, err := scalebench.OpenFrameSourceForCell(ctx, frames, u, scalebench.InstanceEventsPath, cfg.subscriberCell(i, func(j int) string { return r.cells.All()[j].ID }))
				if err == nil {
					return src, nil
				}
				errs = append(errs, err)
			}
			return nil, errors.Join(errs...)
		},
	})
	if err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}
	rec := scalebench.NewRecorder(time.Now())
	tctx, stopTrack := context.WithCancel(ctx)
	var tracking sync.WaitGroup
	defer func() { stopTrack(); tracking.Wait(); rep.Series = rec.All() }()
	bbsMetrics := scalebench.Scraper{URL: "http://" + ctl.bbsHealth + "/metrics"}
	lat := scalebench.LatencySampler(bbsMetrics, bbsRequests, "bbs p99 s")
	run := scalebench.RunningSampler(r.running)
	tracking.Add(2)
	go func() {
		defer tracking.Done()
		scalebench.Track(tctx, 2*time.Second, rec, func(ctx context.Context, now time.Time) map[string]float64 {
			out := lat(ctx, now)
			if out == nil {
				out = map[string]float64{}
			}
			for k, v := range run(ctx, now) {
				out[k] = v
			}
			out["desired"] = float64(r.desired.Load())
			return out
		})
	}()
	pids := ctl.pids()
	pids["sim cells"] = os.Getpid()
	go func() { defer tracking.Done(); scalebench.SampleEvery(tctx, 5*time.Second, pids, rec) }()

	if err := r.ramp(ctx, rep, bbsMetrics); err != nil {
		return err
	}
	if err := r.steady(ctx, rep, bbsMetrics); err != nil {
		return err
	}
	if err := r.loseCell(ctx, rep); err != nil {
		return err
	}
	if err := r.drain(ctx, rep); err != nil {
		return err
	}
	if err := r.failover(ctx, rep); err != nil {
		return err
	}
	rep.EventLag = ptr(r.meter.Stats())
	if err := r.final(ctx, rep); err != nil {
		return err
	}
	r.costs(ctx, rep)
	rep.Checks = checks(rep)
	r.phase("done")
	return nil
}

func ptr[T any](v T) *T { return &v }

// poll calls cond every 500 ms until it holds, failing after the phase
// timeout.
func (r *run) poll(ctx context.Context, what string, cond func() (bool, error)) error {
	return r.pollEvery(ctx, 500*time.Millisecond, what, cond)
}

// resyncIfReopened replaces the RUNNING counter's state with a listing when
// a subscriber's stream was reopened (its events in between are lost) or
// when force is set.
func (r *run) resyncIfReopened(force bool) error {
	st := r.meter.Stats()
	if !force && st.Resubscribed == r.resubs {
		return nil
	}
	r.resubs = st.Resubscribed
	lrps, err := r.ctl.client.ActualLRPs(r.log, "", models.ActualLRPFilter{Domain: Domain})
	if err != nil {
		return fmt.Errorf("listing actual LRPs: %w", err)
	}
	r.running.Reset(lrps)
	return nil
}

// allRunning waits until every desired index has exactly one RUNNING
// actual LRP by the counter (no evacuating copies left) and extra holds,
// updating bar.
func (r *run) allRunning(ctx context.Context, what string, bar *scalebench.Progress, extra func() (bool, error)) error {
	last, lastMove := -1, time.Now()
	checked := time.Now()
	err := r.poll(ctx, what, func() (bool, error) {
		if time.Since(checked) > 5*time.Second {
			checked = time.Now()
			// A stall of 30 s re-reads the BBS: events may have been missed.
			if err := r.resyncIfReopened(time.Since(lastMove) > 30*time.Second); err != nil {
				return false, err
			}
		}
		c := r.running.Counts()
		if c.Indexes != last {
			last, lastMove = c.Indexes, time.Now()
		}
		if bar != nil {
			bar.Update(int64(c.Indexes), fmt.Sprintf("desired %d", r.desired.Load()))
		}
		if int64(c.Indexes) < r.desired.Load() || c.Indexes != r.total || c.LRPs != r.total {
			return false, nil
		}
		if extra == nil {
			return true, nil
		}
		return extra()
	})
	if bar != nil {
		bar.Done(int64(r.running.Counts().Indexes), "")
	}
	return err
}
