package daemon

// The long-lived part of an LRP instance: its action, sidecars and health
// monitor, run as the reference executor runs them
// (depot/transformer/transformer.go StepsRunner): codependently, where a
// step that fails stops the others and one that exits 0 does not.

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/actions"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/health"
)

// runLongLived runs the action beside the sidecars and the health monitor
// until one of them fails, every one has exited, or the instance is
// stopped. It returns the crash reason: the failures' reasons joined with
// "; " (empty when everything exited 0, as in the reference).
func (d *Daemon) runLongLived(inst *instance, desired *models.DesiredLRP, c container.Container, info container.Info, deps actions.Deps, out io.Writer, log *slog.Logger) string {
	ctx := inst.ctx
	lrp := inst.lrp
	action, err := actions.Build(desired.Action, deps)
	if err != nil {
		return "invalid action: " + err.Error()
	}
	steps := []actions.Step{action}
	// A sidecar's memory_mb and disk_mb are within the instance's own
	// limits (Cloud Controller adds them in); the reference executor runs
	// its action in the container like any other, and so do we.
	for i, sc := range desired.Sidecars {
		step, err := actions.Build(sc.GetAction(), deps)
		if err != nil {
			return "invalid sidecar action " + strconv.Itoa(i) + ": " + err.Error()
		}
		steps = append(steps, step)
	}

	mon, reason := d.healthMonitor(inst, desired, deps, info, out, log)
	if reason != "" {
		return reason
	}
	if mon != nil {
		steps = append(steps, actions.StepFunc(func(ctx context.Context) error {
			if err := mon.Run(ctx); ctx.Err() == nil {
				return err
			}
			return &actions.CancelledError{}
		}))
	}

	run := actions.Codependent(steps, false)
	if mon != nil {
		// The monitor reports the instance healthy; the steps run in this
		// goroutine (one goroutine fewer for every running instance).
		if err := run.Run(ctx); err != nil {
			reason = err.Error()
		}
		return reason
	}
	done := make(chan error, 1)
	go func() { done <- run.Run(ctx) }()
	// Without a monitor the instance is healthy once its action runs.
	d.ops.Do(lrp.InstanceGUID, func() { d.reportRunning(inst, log) })
	if err := <-done; err != nil {
		reason = err.Error()
	}
	return reason
}

// healthMonitor builds the instance's health monitor from its check
// definition (the reference's declarative checks, which then win over a
// monitor action) or its monitor action; nil when it has neither. A
// non-empty string is why the checks cannot be built.
func (d *Daemon) healthMonitor(inst *instance, desired *models.DesiredLRP, deps actions.Deps, info container.Info, out io.Writer, log *slog.Logger) (*health.Monitor, string) {
	lrp := inst.lrp
	mapping := map[uint32]uint32{}
	var ports []*models.PortMapping
	for _, p := range info.Ports {
		mapping[p.ContainerPort] = p.HostPort
		ports = append(ports, models.NewPortMapping(p.HostPort, p.ContainerPort))
	}
	var liveness, readiness []health.Checker
	resolve := health.HostPortResolver(info.HostIP, mapping)
	if info.ContainerIP != "" && info.ContainerIP != info.HostIP {
		resolve = health.ContainerResolver(info.ContainerIP)
	}
	declarative := desired.CheckDefinition != nil
	switch cd := desired.CheckDefinition; {
	case declarative:
		var err error
		if liveness, err = health.NewCheckers(cd.Checks, resolve); err != nil {
			return nil, "invalid check definition: " + err.Error()
		}
		if readiness, err = health.NewCheckers(cd.ReadinessChecks, resolve); err != nil {
			return nil, "invalid readiness check definition: " + err.Error()
		}
	case desired.Monitor != nil:
		mdeps := deps
		mdeps.Monitor = true
		step, err := actions.Build(desired.Monitor, mdeps)
		if err != nil {
			return nil, "invalid monitor action: " + err.Error()
		}
		liveness = []health.Checker{actionCheck{step}}
	}
	liveness, readiness = d.simulateChecks(lrp.InstanceGUID, liveness, readiness)
	netInfo := models.NewActualLRPNetInfo(info.HostIP, info.ContainerIP, models.ActualLRPNetInfo_PreferredAddressHost, ports...)
	inst.mu.Lock()
	inst.netInfo = &netInfo
	inst.ready = len(readiness) == 0 // without readiness checks a running instance is routable
	inst.mu.Unlock()
	if len(liveness) == 0 && len(readiness) == 0 {
		return nil, ""
	}
	return &health.Monitor{
		Liveness:        liveness,
		Readiness:       readiness,
		Declarative:     declarative,
		StartTimeout:    time.Duration(desired.StartTimeoutMs) * time.Millisecond,
		StartInterval:   time.Duration(d.cfg.UnhealthyMonitoringInterval),
		HealthyInterval: time.Duration(d.cfg.HealthyMonitoringInterval),
		Log:             out,
		HealthLog:       out,
		OnHealthy: func() {
			d.ops.Do(lrp.InstanceGUID, func() { d.reportRunning(inst, log) })
		},
		OnReady: func(ready bool) {
			inst.mu.Lock()
			changed := inst.ready != ready
			inst.ready = ready
			running := inst.running
			inst.mu.Unlock()
			if changed && running {
				// StartActualLRP again on a RUNNING instance only updates routable.
				d.ops.Do(lrp.InstanceGUID, func() { d.reportRunning(inst, log) })
			}
		},
	}, ""
}

// actionCheck runs a desired LRP's monitor action as a liveness check: the
// instance is healthy while the action succeeds, and the action's failure
// (built with actions.Deps.Monitor) is the reference's reason.
type actionCheck struct{ step actions.Step }

func (a actionCheck) Interval() time.Duration { return 0 }

func (a actionCheck) Check(ctx context.Context) error { return a.step.Run(ctx) }

// logSource is the source of the instance's lines and of the failure
// reasons of actions that name none: the desired LRP's, else the
// reference's "LOG" (executor resources.go LogConfig).
func logSource(desired *models.DesiredLRP) string {
	if desired.LogSource != "" {
		return desired.LogSource
	}
	return "LOG"
}
