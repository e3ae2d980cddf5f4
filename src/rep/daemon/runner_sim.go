package daemon

import (
	"context"
	"time"

	"github.com/diego-go/diego/src/rep/health"
)

// simulatedHealth is a backend whose containers run no real process and
// listen on no port (the sim backend): it answers for an instance's
// health instead of its checks.
type simulatedHealth interface {
	// Healthy waits until the container's process has started; an error
	// when none runs.
	Healthy(ctx context.Context, handle string) error
}

// simulateChecks replaces the instance's liveness and readiness checks (a
// check definition's or the monitor action) with the backend's answer, so
// a simulated instance goes through the same monitor, start timeout and
// reports as a real one.
func (d *Daemon) simulateChecks(handle string, liveness, readiness []health.Checker) ([]health.Checker, []health.Checker) {
	sh, ok := d.backend.(simulatedHealth)
	if !ok {
		return liveness, readiness
	}
	check := simCheck{sh, handle}
	if len(liveness) > 0 {
		liveness = []health.Checker{check}
	}
	if len(readiness) > 0 {
		readiness = []health.Checker{check}
	}
	return liveness, readiness
}

type simCheck struct {
	b      simulatedHealth
	handle string
}

func (c simCheck) Check(ctx context.Context) error { return c.b.Healthy(ctx, c.handle) }

func (c simCheck) Interval() time.Duration { return 0 }
