package daemon

// The runner of LRP instances: claim, container, setup, action and health
// checks, and the reports to the BBS.

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/actions"
	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/reconcile"
)

// instance is one LRP instance running (or starting) on the cell.
type instance struct {
	lrp    rep.LRP
	ikey   models.ActualLRPInstanceKey
	ctx    context.Context
	cancel context.CancelFunc
	mode   atomic.Int32 // a reconcile.End
	done   chan struct{}

	mu      sync.Mutex
	claimed bool                     // the BBS has it claimed by this cell
	running bool                     // the BBS has it RUNNING (ordinary or evacuating)
	healthy bool                     // passed its health checks: reported (or tried to report) running
	ready   bool                     // routable
	netInfo *models.ActualLRPNetInfo // set once the container exists
}

// end asks the instance to stop; the first reason given wins.
func (i *instance) end(mode reconcile.End) {
	i.mode.CompareAndSwap(int32(reconcile.EndCrash), int32(mode))
	i.cancel()
}

// ending is how the instance ends (EndCrash unless asked otherwise).
func (i *instance) ending() reconcile.End { return reconcile.End(i.mode.Load()) }

func (i *instance) status() (claimed, running, ready bool, ni *models.ActualLRPNetInfo) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.claimed, i.running, i.ready, i.netInfo
}

func (d *Daemon) isEvacuating() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.evacuating
}

func (d *Daemon) run(inst *instance) {
	defer d.instWG.Done()
	defer close(inst.done)
	lrp := inst.lrp
	log := d.log.With("process_guid", lrp.ProcessGuid, "index", lrp.Index, "instance_guid", lrp.InstanceGUID)
	guid := lrp.InstanceGUID
	forget := func() { d.forget(cell.KindLRP, guid, log) }
	_ = d.ledger.Transition(cell.KindLRP, guid, cell.Initializing)

	desired, err := d.bbs.DesiredLRPByProcessGuid(d.lg, "", lrp.ProcessGuid)
	if err != nil {
		log.Error("fetching desired LRP", "error", err)
		forget()
		return
	}
	var claimErr error
	d.ops.Do(guid, func() {
		if inst.ctx.Err() != nil {
			claimErr = inst.ctx.Err()
			return
		}
		if claimErr = d.bbs.ClaimActualLRP(d.lg, "", &lrp.ActualLRPKey, &inst.ikey); claimErr == nil {
			inst.mu.Lock()
			inst.claimed = true
			inst.mu.Unlock()
		}
	})
	if claimErr != nil {
		log.Error("claiming actual LRP", "error", claimErr)
		forget()
		return
	}
	log.Info("claimed")

	cl := d.appOutput(outputSpec{
		group: lrp.ProcessGuid, name: strconv.Itoa(int(lrp.Index)), limit: desired.LogRateLimit,
		handle: lrp.InstanceGUID, metricTags: desired.MetricTags, logGuid: desired.LogGuid,
		index: lrp.Index, instanceGuid: lrp.InstanceGUID, source: logSource(desired),
	})
	reason := d.runContainer(inst, desired, cl, log)

	d.destroyContainer(guid, cl, log)
	cl.close()
	d.reportEnded(guid, "reporting the end of the instance", log, func(int) error { return d.reportEnd(inst, reason, log) })
	_ = d.ledger.Complete(cell.KindLRP, guid, inst.ending() == reconcile.EndCrash)
	forget()
}

// reportEnd tells the BBS how the instance ended, through the evacuation
// calls while the cell is evacuating. Runs in the instance's operation
// queue, through reportEnded.
func (d *Daemon) reportEnd(inst *instance, reason string, log *slog.Logger) error {
	key, ikey := &inst.lrp.ActualLRPKey, &inst.ikey
	var err error
	switch reconcile.Ended(inst.ending(), d.isEvacuating()) {
	case reconcile.ReportNothing:
		log.Info("container destroyed; the BBS no longer has the instance here")
		return nil
	case reconcile.ReportEvacuateStopped:
		_, err = d.bbs.EvacuateStoppedActualLRP(d.lg, "", key, ikey)
	case reconcile.ReportRemove:
		err = d.bbs.RemoveActualLRP(d.lg, "", key, ikey)
	case reconcile.ReportEvacuateCrashed:
		log.Info("crashed while evacuating", "reason", reason)
		_, err = d.bbs.EvacuateCrashedActualLRP(d.lg, "", key, ikey, reason)
	default:
		log.Info("crashed", "reason", reason)
		err = d.bbs.CrashActualLRP(d.lg, "", key, ikey, reason)
	}
	if err != nil {
		return err
	}
	log.Info("reported end", "mode", inst.mode.Load())
	return nil
}

// reportRunning tells the BBS the instance is RUNNING (with its routability);
// while evacuating it asks for a replacement instead, and abandons the
// container once the BBS says it need not be kept. Runs in the instance's
// operation queue.
func (d *Daemon) reportRunning(inst *instance, log *slog.Logger) {
	if inst.ctx.Err() != nil {
		return
	}
	inst.mu.Lock()
	inst.healthy = true
	inst.mu.Unlock()
	_, _, ready, ni := inst.status()
	key, ikey := &inst.lrp.ActualLRPKey, &inst.ikey
	if reconcile.Running(d.isEvacuating()) == reconcile.ReportEvacuateRunning {
		keep, err := d.bbs.EvacuateRunningActualLRP(d.lg, "", key, ikey, ni, nil, nil, ready, d.cfg.Zone)
		if err != nil {
			log.Error("evacuating running instance", "error", err)
			return
		}
		inst.mu.Lock()
		inst.running = true
		inst.mu.Unlock()
		if !keep {
			log.Info("evacuated: the replacement is running elsewhere")
			inst.end(reconcile.EndAbandon)
		}
		return
	}
	if err := d.bbs.StartActualLRP(d.lg, "", key, ikey, ni, nil, nil, ready, d.cfg.Zone); err != nil {
		log.Error("starting actual LRP", "error", err)
		return
	}
	inst.mu.Lock()
	inst.running = true
	inst.mu.Unlock()
	_ = d.ledger.Transition(cell.KindLRP, inst.lrp.InstanceGUID, cell.Running)
	log.Info("running", "address", ni.Address, "routable", ready)
}

// runContainer creates the container, runs setup, then the action with the
// health monitor, until the action exits, the instance becomes unhealthy
// or it is stopped. It returns the crash reason.
func (d *Daemon) runContainer(inst *instance, desired *models.DesiredLRP, cl *containerLog, log *slog.Logger) string {
	ctx := inst.ctx
	lrp := inst.lrp
	ce, err := d.envLRP(lrp.InstanceGUID, lrp.Index, desired)
	if err != nil {
		return err.Error()
	}
	deps := cl.Deps
	assets, desired, err := d.lrpAssets(ctx, lrp.InstanceGUID, deps, desired)
	if err != nil {
		return err.Error()
	}
	egress, err := egressRules(log, desired.EgressRules)
	if err != nil {
		return "failed to create container: " + err.Error()
	}
	c, err := cl.create(ctx, container.Spec{
		Handle:    lrp.InstanceGUID,
		RootFS:    desired.RootFs,
		Env:       ce.Env,
		Ports:     desired.Ports,
		MemoryMB:  int64(desired.MemoryMb),
		DiskMB:    int64(desired.DiskMb),
		MaxPids:   int64(desired.MaxPids),
		CPUWeight: desired.CpuWeight,
		Properties: map[string]string{
			propKind: kindLRP, "process_guid": lrp.ProcessGuid, "instance_guid": lrp.InstanceGUID, "index": strconv.Itoa(int(lrp.Index)),
		},
		BindMounts:  slices.Concat(assets.mounts, ce.Mounts),
		EgressRules: egress,
	})
	if err != nil {
		return "failed to create container: " + err.Error()
	}
	_ = d.ledger.Transition(cell.KindLRP, lrp.InstanceGUID, cell.Created)
	info, err := c.Info(ctx)
	if err != nil {
		return "failed to inspect container: " + err.Error()
	}
	stopIdentity, err := d.startIdentity(ctx, ce, info, log)
	if err != nil {
		return "failed to create container: " + err.Error()
	}
	defer stopIdentity()

	deps.Container = c
	if err := assets.fetch(ctx, deps); err != nil {
		return err.Error()
	}
	if desired.Setup != nil {
		setup, err := actions.Build(desired.Setup, deps)
		if err != nil {
			return "invalid setup action: " + err.Error()
		}
		if err := setup.Run(ctx); err != nil {
			return err.Error() // the reference's reason: the failed step's
		}
	}
	if ctx.Err() != nil {
		return "stopped"
	}
	return d.runLongLived(inst, desired, c, info, deps, cl.Out, log)
}
