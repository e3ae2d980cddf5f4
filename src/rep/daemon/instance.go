package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/actions"
	"github.com/diego-go/diego/src/rep/api"
	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/health"
)

// cleanupTimeout bounds the BBS calls and container destruction after an
// instance ends.
const cleanupTimeout = 30 * time.Second

// instance is one LRP instance running (or starting) on the cell.
type instance struct {
	lrp     rep.LRP
	ikey    models.ActualLRPInstanceKey
	ctx     context.Context
	cancel  context.CancelFunc
	stopped atomic.Bool // stopped on purpose: remove rather than crash
	done    chan struct{}
}

func (i *instance) stop() {
	i.stopped.Store(true)
	i.cancel()
}

// onReserved starts every accepted LRP instance. Tasks are not supported:
// their reservations are released at once.
func (d *Daemon) onReserved(_ context.Context, work rep.Work) {
	for _, t := range work.Tasks {
		d.log.Warn("tasks are not supported; releasing the reservation", "task_guid", t.TaskGuid)
		_, _ = d.ledger.Release(cell.KindTask, t.TaskGuid)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, lrp := range work.LRPs {
		if d.stoppingInstances {
			_, _ = d.ledger.Release(cell.KindLRP, lrp.InstanceGUID)
			continue
		}
		ctx, cancel := context.WithCancel(d.ctx)
		inst := &instance{
			lrp:    lrp,
			ikey:   models.NewActualLRPInstanceKey(lrp.InstanceGUID, d.cfg.CellID),
			ctx:    ctx,
			cancel: cancel,
			done:   make(chan struct{}),
		}
		d.instances[lrp.InstanceGUID] = inst
		d.instWG.Add(1)
		go d.run(inst)
	}
}

// StopLRPInstance stops an instance on purpose: its container is stopped
// and destroyed and it is removed from the BBS (asynchronously).
func (d *Daemon) StopLRPInstance(ctx context.Context, processGuid, instanceGuid string) error {
	d.mu.Lock()
	inst, ok := d.instances[instanceGuid]
	d.mu.Unlock()
	if !ok || inst.lrp.ProcessGuid != processGuid {
		return fmt.Errorf("instance %s/%s: %w", processGuid, instanceGuid, api.ErrNotFound)
	}
	d.log.Info("stopping instance", "process_guid", processGuid, "instance_guid", instanceGuid)
	inst.stop()
	return nil
}

func (d *Daemon) run(inst *instance) {
	defer d.instWG.Done()
	defer close(inst.done)
	lrp := inst.lrp
	log := d.log.With("process_guid", lrp.ProcessGuid, "index", lrp.Index, "instance_guid", lrp.InstanceGUID)
	guid := lrp.InstanceGUID
	forget := func() {
		if _, err := d.ledger.Release(cell.KindLRP, guid); err != nil {
			log.Warn("releasing reservation", "error", err)
		}
		d.mu.Lock()
		delete(d.instances, guid)
		d.mu.Unlock()
	}
	_ = d.ledger.Transition(cell.KindLRP, guid, cell.Initializing)

	desired, err := d.bbs.DesiredLRPByProcessGuid(d.lg, "", lrp.ProcessGuid)
	if err != nil {
		log.Error("fetching desired LRP", "error", err)
		forget()
		return
	}
	if err := d.bbs.ClaimActualLRP(d.lg, "", &lrp.ActualLRPKey, &inst.ikey); err != nil {
		log.Error("claiming actual LRP", "error", err)
		forget()
		return
	}
	log.Info("claimed")

	reason := d.runContainer(inst, desired, log)

	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), cleanupTimeout)
	defer cancel()
	if err := d.backend.Destroy(ctx, guid); err != nil && !errors.Is(err, container.ErrNotFound) {
		log.Error("destroying container", "error", err)
	}
	if inst.stopped.Load() {
		if err := d.bbs.RemoveActualLRP(d.lg, "", &lrp.ActualLRPKey, &inst.ikey); err != nil {
			log.Error("removing actual LRP", "error", err)
		} else {
			log.Info("removed")
		}
	} else {
		log.Info("crashed", "reason", reason)
		if err := d.bbs.CrashActualLRP(d.lg, "", &lrp.ActualLRPKey, &inst.ikey, reason); err != nil {
			log.Error("crashing actual LRP", "error", err)
		}
	}
	_ = d.ledger.Complete(cell.KindLRP, guid, !inst.stopped.Load())
	forget()
}

// runContainer creates the container, runs setup, then the action with the
// health monitor, until the action exits, the instance becomes unhealthy
// or it is stopped. It returns the crash reason.
func (d *Daemon) runContainer(inst *instance, desired *models.DesiredLRP, log interface {
	Info(string, ...any)
	Error(string, ...any)
}) string {
	ctx := inst.ctx
	lrp := inst.lrp
	env := []string{
		"INSTANCE_GUID=" + lrp.InstanceGUID, "INSTANCE_INDEX=" + strconv.Itoa(int(lrp.Index)),
		"CF_INSTANCE_GUID=" + lrp.InstanceGUID, "CF_INSTANCE_INDEX=" + strconv.Itoa(int(lrp.Index)),
	}
	for _, e := range desired.EnvironmentVariables {
		env = append(env, e.Name+"="+e.Value)
	}
	c, err := d.backend.Create(ctx, container.Spec{
		Handle:   lrp.InstanceGUID,
		RootFS:   desired.RootFs,
		Env:      env,
		Ports:    desired.Ports,
		MemoryMB: int64(desired.MemoryMb),
		DiskMB:   int64(desired.DiskMb),
		Properties: map[string]string{
			"process_guid": lrp.ProcessGuid, "instance_guid": lrp.InstanceGUID, "index": strconv.Itoa(int(lrp.Index)),
		},
	})
	if err != nil {
		return "failed to create container: " + err.Error()
	}
	_ = d.ledger.Transition(cell.KindLRP, lrp.InstanceGUID, cell.Created)
	info, err := c.Info(ctx)
	if err != nil {
		return "failed to inspect container: " + err.Error()
	}

	out := d.opts.ContainerOutput
	if out == nil {
		out = io.Discard
	}
	deps := actions.Deps{Container: c, Stdout: out, Stderr: out, LogSource: "APP/PROC/WEB"}
	if desired.Setup != nil {
		setup, err := actions.Build(desired.Setup, deps)
		if err != nil {
			return "invalid setup action: " + err.Error()
		}
		if err := setup.Run(ctx); err != nil {
			return "setup failed: " + err.Error()
		}
	}
	if ctx.Err() != nil {
		return "stopped"
	}
	action, err := actions.Build(desired.Action, deps)
	if err != nil {
		return "invalid action: " + err.Error()
	}

	mapping := map[uint32]uint32{}
	var ports []*models.PortMapping
	for _, p := range info.Ports {
		mapping[p.ContainerPort] = p.HostPort
		ports = append(ports, models.NewPortMapping(p.HostPort, p.ContainerPort))
	}
	var checks []health.Checker
	if cd := desired.CheckDefinition; cd != nil {
		if checks, err = health.NewCheckers(cd.Checks, health.HostPortResolver(info.HostIP, mapping)); err != nil {
			return "invalid check definition: " + err.Error()
		}
	}
	netInfo := models.NewActualLRPNetInfo(info.HostIP, info.ContainerIP, models.ActualLRPNetInfo_PreferredAddressHost, ports...)
	mon := &health.Monitor{
		Liveness:     checks,
		StartTimeout: time.Duration(desired.StartTimeoutMs) * time.Millisecond,
		Log:          out,
		HealthLog:    out,
		OnHealthy: func() {
			if err := d.bbs.StartActualLRP(d.lg, "", &lrp.ActualLRPKey, &inst.ikey, &netInfo, nil, nil, true, d.cfg.Zone); err != nil {
				log.Error("starting actual LRP", "error", err)
				return
			}
			_ = d.ledger.Transition(cell.KindLRP, lrp.InstanceGUID, cell.Running)
			log.Info("running", "address", netInfo.Address)
		},
	}

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	actionErr := make(chan error, 1)
	monErr := make(chan error, 1)
	go func() { actionErr <- action.Run(runCtx) }()
	go func() { monErr <- mon.Run(runCtx) }()
	var reason string
	select {
	case err := <-actionErr:
		reason = exitReason(err)
		cancelRun()
		<-monErr
	case err := <-monErr:
		reason = err.Error()
		cancelRun()
		<-actionErr
	}
	return reason
}

func exitReason(err error) string {
	if err == nil {
		return "APP/PROC/WEB: Exited with status 0"
	}
	return err.Error()
}
