package scalerun

import (
	"context"
	"fmt"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/scalebench"
)

// failoverPoll is how often the failover phase checks its conditions: its
// figures are only as fine as this.
const failoverPoll = 100 * time.Millisecond

// failover kills the active BBS with SIGKILL at steady state and times
// until the standby serves (a ping and a read from the driver succeed)
// and until every cell still running has completed a bulk sync that
// started after the kill, then waits for every instance RUNNING again.
// Without a standby (SQLite) it is skipped.
func (r *run) failover(ctx context.Context, rep *scalebench.Report) error {
	ctl := r.ctl
	if ctl.standby == nil {
		r.phase("failover: skipped (SQLite cannot back two BBS; run with --db-driver postgres or mysql)")
		return nil
	}
	var live int
	for _, c := range r.cells.All() {
		if !c.Stopping() {
			live++
		}
	}
	// The active BBS's costs, before it goes.
	if s, err := scalebench.SampleProcess(ctl.bbs.cmd.Process.Pid); err == nil {
		r.killedBBS = &scalebench.ComponentCost{Name: "bbs", ProcSample: s}
	}
	r.phase("failover: killing the active BBS (SIGKILL); the standby takes the lock once its TTL (%v) expires", r.cfg.LockTTL)
	killed := time.Now()
	if err := ctl.bbs.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("failover: killing the BBS: %w", err)
	}
	select {
	case <-ctl.bbs.exited:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := r.pollEvery(ctx, failoverPoll, "the standby BBS to serve", func() (bool, error) {
		if !ctl.client.Ping(r.log, "") {
			return false, nil
		}
		_, err := ctl.client.ActualLRPs(r.log, "", models.ActualLRPFilter{CellID: "no-such-cell"})
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	f := &scalebench.Failover{ServingSeconds: time.Since(killed).Seconds(), Cells: live}
	rep.Failover = f
	r.phase("failover: the standby serves after %.1fs", f.ServingSeconds)
	if err := r.pollEvery(ctx, failoverPoll, "every cell to sync with the new leader", func() (bool, error) {
		for _, c := range r.cells.All() {
			if !c.Stopping() && !c.SyncedSince(killed) {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	f.SyncedSeconds = time.Since(killed).Seconds()
	r.phase("failover: all %d cells synced after %.1fs", live, f.SyncedSeconds)
	// The streams missed what happened while no BBS served: count afresh.
	if err := r.resyncIfReopened(true); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	if err := r.allRunning(ctx, "every instance RUNNING after the failover", nil, nil); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	f.RunningSeconds = time.Since(killed).Seconds()
	return nil
}

// pollEvery is poll at another interval.
func (r *run) pollEvery(ctx context.Context, every time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(r.cfg.PhaseTimeout)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: not within %v", what, r.cfg.PhaseTimeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(every):
		}
	}
}
