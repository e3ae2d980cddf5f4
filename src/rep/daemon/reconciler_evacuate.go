package daemon

import (
	"context"
	"time"

	"github.com/diego-go/diego/src/rep/reconcile"
)

// Evacuate starts evacuating the cell (it returns at once): the cell stops
// taking work; each instance not yet running is handed back to the BBS and
// destroyed; each running one is re-placed through EvacuateRunningActualLRP
// and kept running until the BBS says its replacement is RUNNING elsewhere;
// tasks run to completion. Evacuated is closed when nothing is left or
// EvacuationTimeout passes (what is left is then stopped). Calling it again
// does nothing.
func (d *Daemon) Evacuate(ctx context.Context) {
	d.mu.Lock()
	if d.evacuating || d.stoppingInstances {
		d.mu.Unlock()
		return
	}
	d.evacuating = true
	d.mu.Unlock()
	d.ledger.SetEvacuating(true)
	d.log.Info("evacuating", "timeout", time.Duration(d.cfg.EvacuationTimeout))
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		d.evacuate()
	}()
}

// Evacuated is closed when an evacuation has finished.
func (d *Daemon) Evacuated() <-chan struct{} { return d.evacuated }

func (d *Daemon) evacuate() {
	defer close(d.evacuated)
	start := time.Now()
	deadline := time.NewTimer(time.Duration(d.cfg.EvacuationTimeout))
	defer deadline.Stop()
	poll := time.NewTicker(time.Duration(d.cfg.EvacuationPollingInterval))
	defer poll.Stop()
	for {
		lrps, tasks := d.evacuatePass()
		if lrps+tasks == 0 {
			d.log.Info("evacuation finished", "duration", time.Since(start).Round(time.Millisecond))
			return
		}
		d.log.Info("evacuating: waiting", "instances", lrps, "tasks", tasks)
		stopWatch := make(chan struct{})
		emptied := d.untilEmpty(stopWatch)
		select {
		case <-d.ctx.Done():
			close(stopWatch)
			return
		case <-poll.C:
			close(stopWatch)
		case <-emptied:
			close(stopWatch)
		case <-deadline.C:
			close(stopWatch)
			d.log.Warn("evacuation timed out; stopping what is left",
				"instances", lrps, "tasks", tasks, "timeout", time.Duration(d.cfg.EvacuationTimeout))
			d.mu.Lock()
			for _, inst := range d.instances {
				inst.end(reconcile.EndStop) // reported with EvacuateStoppedActualLRP
			}
			for _, tr := range d.tasks {
				tr.cancel() // completed as failed
			}
			d.mu.Unlock()
			d.waitEmpty()
			return
		}
	}
}

// evacuatePass asks the BBS about every instance and reports how many
// instances and tasks are still on the cell.
func (d *Daemon) evacuatePass() (lrps, tasks int) {
	d.mu.Lock()
	insts := make([]*instance, 0, len(d.instances))
	for _, inst := range d.instances {
		insts = append(insts, inst)
	}
	tasks = len(d.tasks)
	d.mu.Unlock()
	for _, inst := range insts {
		if inst.ctx.Err() != nil {
			lrps++ // ending; waits for its report
			continue
		}
		log := d.log.With("process_guid", inst.lrp.ProcessGuid, "index", inst.lrp.Index, "instance_guid", inst.lrp.InstanceGUID)
		d.ops.Do(inst.lrp.InstanceGUID, func() {
			claimed, running, _, _ := inst.status()
			switch reconcile.Evacuate(claimed, running) {
			case reconcile.ReportEvacuateRunning:
				d.reportRunning(inst, log)
			case reconcile.ReportEvacuateClaimed:
				keep, err := d.bbs.EvacuateClaimedActualLRP(d.lg, "", &inst.lrp.ActualLRPKey, &inst.ikey)
				if err != nil {
					log.Error("evacuating claimed instance", "error", err)
					return
				}
				if !keep {
					log.Info("evacuated a starting instance")
					inst.end(reconcile.EndAbandon)
				}
			default:
				// not claimed yet: the claim is refused (ctx) or it will be
				// evacuated on the next pass
				inst.end(reconcile.EndAbandon)
			}
		})
		lrps++
	}
	return lrps, tasks
}

// untilEmpty returns a channel closed when the cell holds no instance or
// task, checked until stop fires.
func (d *Daemon) untilEmpty(stop <-chan struct{}) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			d.mu.Lock()
			n := len(d.instances) + len(d.tasks)
			d.mu.Unlock()
			if n == 0 {
				close(ch)
				return
			}
			select {
			case <-stop:
				return
			case <-d.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ch
}

// waitEmpty waits until every instance and task goroutine has reported.
func (d *Daemon) waitEmpty() {
	for {
		d.mu.Lock()
		n := len(d.instances) + len(d.tasks)
		d.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}
