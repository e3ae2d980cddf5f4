package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/garden"
	"github.com/diego-go/diego/src/rep/container/process"
	"github.com/diego-go/diego/src/rep/container/runc"
	"github.com/diego-go/diego/src/version"
	"github.com/diego-go/diego/src/wallclock"
)

// gardenPingTimeout bounds the start-up check that garden-runc answers.
const gardenPingTimeout = 10 * time.Second

// Run runs the cell until ctx ends (SIGINT/SIGTERM), an evacuation
// finishes or the daemon fails, then stops it within stop_timeout. A signal
// or a finished evacuation is a clean exit (nil); a fatal daemon error or a
// stop that overran its timeout is returned. It logs through slog.Default().
func Run(ctx context.Context, cfg Config) error {
	log := slog.Default()
	if skew, err := wallclock.Check(); err != nil {
		return err
	} else if skew != 0 {
		log.Warn("this rep's wall clock is moved for a fault test; never on a real deployment", "env", wallclock.EnvOffset, "offset", skew.String())
	}
	backend, closeBackend, err := newBackend(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeBackend()
	d, err := Start(ctx, cfg.settings(), Options{Logger: log, Backend: backend})
	if err != nil {
		return err
	}
	log.Info("rep serving", "version", version.Version, "cell_id", cfg.CellID, "backend", cfg.Backend,
		"rep_url", d.RepURL(), "local_address", d.LocalAddr())

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping", "reason", context.Cause(ctx))
	case <-d.Evacuated():
		log.Info("evacuation finished, stopping")
	case runErr = <-d.Errors():
		log.Error("rep failed, stopping", "error", runErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.StopTimeout))
	defer cancel()
	if err := d.Stop(sctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("stopping within stop_timeout %s: %w", time.Duration(cfg.StopTimeout), err))
	}
	if runErr != nil {
		log.Error("rep stopped", "error", runErr)
	} else {
		log.Info("rep stopped")
	}
	return runErr
}

// newBackend builds the selected container backend; the returned func
// releases it (runc's port proxies; containers are left for the next start).
func newBackend(ctx context.Context, cfg Config, log *slog.Logger) (container.Backend, func(), error) {
	nop := func() {}
	switch cfg.Backend {
	case BackendProcess:
		b, err := process.New(cfg.processConfig())
		return b, nop, err
	case BackendRunc:
		rc := cfg.runcConfig()
		rc.Logger = log
		b, err := runc.New(rc)
		return b, func() { _ = b.Close() }, err // not called on err
	case BackendGarden:
		gc := cfg.gardenConfig()
		gc.Logger = log
		b, err := garden.New(gc)
		if err != nil {
			return nil, nil, err
		}
		pctx, cancel := context.WithTimeout(ctx, gardenPingTimeout)
		defer cancel()
		if err := b.Ping(pctx); err != nil {
			return nil, nil, err
		}
		return capacityOverride{Backend: b, cap: container.Capacity{
			MemoryMB: cfg.MemoryMB, DiskMB: cfg.DiskMB, MaxContainers: cfg.MaxContainers,
		}}, nop, nil
	}
	return nil, nil, fmt.Errorf("backend %q must be process, runc or garden", cfg.Backend)
}

// capacityOverride replaces the non-zero fields of cap in what the wrapped
// backend reports (an operator's memory_mb below what Garden offers).
type capacityOverride struct {
	container.Backend
	cap container.Capacity
}

func (b capacityOverride) Capacity(ctx context.Context) (container.Capacity, error) {
	c, err := b.Backend.Capacity(ctx)
	if err != nil {
		return c, err
	}
	fill0 := func(dst *int64, v int64) {
		if v != 0 {
			*dst = v
		}
	}
	fill0(&c.MemoryMB, b.cap.MemoryMB)
	fill0(&c.DiskMB, b.cap.DiskMB)
	if b.cap.MaxContainers != 0 {
		c.MaxContainers = b.cap.MaxContainers
	}
	return c, nil
}
