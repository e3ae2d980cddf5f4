package host

import (
	"context"
	"syscall"
	"time"
)

// StopPoll is how often Stop checks whether the processes are gone.
const StopPoll = 20 * time.Millisecond

// Stop is a container's stop protocol: signal SIGTERM (SIGKILL when kill),
// then poll gone; once grace passes call killAll (once); if ctx ends first
// call abort and return ctx's error.
func Stop(ctx context.Context, kill bool, grace time.Duration, signal func(syscall.Signal), gone func() bool, killAll, abort func()) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	signal(sig)
	graceT := time.NewTimer(grace)
	defer graceT.Stop()
	tick := time.NewTicker(StopPoll)
	defer tick.Stop()
	for {
		if gone() {
			return nil
		}
		select {
		case <-ctx.Done():
			abort()
			return ctx.Err()
		case <-graceT.C:
			killAll()
		case <-tick.C:
		}
	}
}
