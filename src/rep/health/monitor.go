package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/diego-go/diego/src/internal/each"
)

// Default monitoring intervals (the reference's).
const (
	// DefaultStartInterval is the longest pause between start-up checks
	// (the reference's unhealthy_monitoring_interval, 0.5 s).
	DefaultStartInterval   = 500 * time.Millisecond
	DefaultHealthyInterval = 30 * time.Second
	// DefaultStartRamp is the first pause between start-up checks; it
	// doubles up to the start interval, so an app that listens within
	// milliseconds is RUNNING within milliseconds, not seconds.
	DefaultStartRamp = 5 * time.Millisecond
)

// Sentinels the monitor's crash errors match with errors.Is.
var (
	ErrNeverHealthy = errors.New("instance never healthy")
	ErrUnhealthy    = errors.New("instance became unhealthy")
)

// CrashError is why an instance crashed; Reason is the reference's crash
// reason text.
type CrashError struct {
	Reason string
	kind   error // ErrNeverHealthy or ErrUnhealthy
	Err    error // the failing check's error
}

func (e *CrashError) Error() string   { return e.Reason }
func (e *CrashError) Unwrap() []error { return []error{e.kind, e.Err} }

// Monitor runs an instance's checks: every StartInterval until all
// liveness checks pass (bounded by StartTimeout), then each at its own
// interval (HealthyInterval by default) until one fails. Readiness checks
// run alongside and toggle OnReady.
type Monitor struct {
	Liveness  []Checker
	Readiness []Checker

	StartTimeout    time.Duration // 0 = wait for health forever
	StartInterval   time.Duration // 0 = DefaultStartInterval
	HealthyInterval time.Duration // 0 = DefaultHealthyInterval
	// StartRamp is the first pause between failing start-up checks,
	// doubling up to StartInterval (0 = DefaultStartRamp; negative = the
	// reference's fixed StartInterval from the first retry).
	StartRamp time.Duration

	// OnHealthy is called once, when every liveness check has passed.
	OnHealthy func()
	// OnReady is called with true when every readiness check passes and
	// with false when one then fails.
	OnReady func(ready bool)
	// Log receives progress lines; HealthLog the failing checks' errors
	// (nil = discarded).
	Log, HealthLog io.Writer

	// Declarative words failures as the reference's healthcheck binary
	// does for a check_definition's checks ("Timed out after ... waiting
	// for startup check to succeed: ...", "Liveness check unsuccessful:
	// ..."); without it a failing check's own error is the reason (the
	// monitor action).
	Declarative bool
}

// Run monitors until ctx is done (returning ctx.Err()) or the instance
// crashes (returning a *CrashError).
func (m *Monitor) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	if len(m.Readiness) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.runReadiness(ctx)
		}()
	}

	if len(m.Liveness) == 0 {
		// Nothing to monitor: the reference has no health step then, so
		// no lines either.
		if m.OnHealthy != nil {
			m.OnHealthy()
		}
		<-ctx.Done()
		return ctx.Err()
	}
	m.logf("%s\n", LogStarting)
	start := time.Now()
	if err := m.untilAllPass(ctx, m.Liveness, m.StartTimeout); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		elapsed := time.Since(start).Round(time.Millisecond)
		m.healthf("%s\n", err)
		m.logf(LogStartupFailed+"\n", elapsed)
		return &CrashError{Reason: NeverHealthy(elapsed, err.Error()), kind: ErrNeverHealthy, Err: err}
	}
	m.logf("%s\n", LogHealthy)
	if m.OnHealthy != nil {
		m.OnHealthy()
	}
	err := m.untilOneFails(ctx, m.Liveness)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if m.Declarative {
		err = &Error{Msg: livenessFailedAmong(err.Error(), len(m.Liveness)), Err: err}
	}
	m.healthf("%s\n", err)
	m.logf("%s\n", LogUnhealthy)
	return &CrashError{Reason: BecameUnhealthy(err.Error()), kind: ErrUnhealthy, Err: err}
}

func (m *Monitor) runReadiness(ctx context.Context) {
	m.logf("%s\n", LogReadinessStarting)
	for {
		if err := m.untilAllPass(ctx, m.Readiness, 0); err != nil {
			return // cancelled
		}
		m.logf("%s\n", LogReady)
		if m.OnReady != nil {
			m.OnReady(true)
		}
		m.untilOneFails(ctx, m.Readiness)
		if ctx.Err() != nil {
			return
		}
		m.logf("%s\n", LogNotReady)
		if m.OnReady != nil {
			m.OnReady(false)
		}
	}
}

// untilAllPass runs each check every StartInterval until it passes. It
// fails, with the last errors of the checks still failing (worded as the
// healthcheck binary's start-up time-out when Declarative), when timeout
// (if any) passes first, or with ctx's error when ctx is done.
func (m *Monitor) untilAllPass(ctx context.Context, checks []Checker, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	interval := or(m.StartInterval, DefaultStartInterval)
	errs := each.Parallel(len(checks), func(i int) error {
		pause := interval
		if m.StartRamp >= 0 {
			pause = min(or(m.StartRamp, DefaultStartRamp), interval)
		}
		t := time.NewTimer(pause)
		defer t.Stop()
		var last error
		for attempts := 1; ; attempts++ {
			err := checks[i].Check(ctx)
			if err == nil {
				return nil
			}
			if ctx.Err() == nil || last == nil {
				last = err // keep the last error from before the deadline
			}
			select {
			case <-ctx.Done():
				if m.Declarative && timeout > 0 {
					return &Error{Msg: StartupTimedOut(timeout, attempts, last.Error()), Err: last}
				}
				return last
			case <-t.C:
			}
			pause = min(2*pause, interval)
			t.Reset(pause)
		}
	})
	var msgs []string
	var failed []error
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
			failed = append(failed, err)
		}
	}
	switch {
	case len(failed) == 1:
		return failed[0]
	case len(failed) > 1:
		return &Error{Msg: strings.Join(msgs, "; "), Err: errors.Join(failed...)}
	}
	return nil
}

// untilOneFails runs each check at its interval until one fails and
// returns that check's error (or ctx's error when ctx is done first).
func (m *Monitor) untilOneFails(ctx context.Context, checks []Checker) error {
	if len(checks) == 1 {
		// The common case runs in this goroutine (one goroutine fewer for
		// every running instance).
		if err := m.checkUntilFails(ctx, checks[0]); err != nil {
			return err
		}
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	first := make(chan error, len(checks))
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.checkUntilFails(ctx, c); err != nil {
				first <- err
			}
		}()
	}
	var err error
	select {
	case err = <-first:
	case <-ctx.Done():
		err = ctx.Err()
	}
	cancel()
	wg.Wait()
	return err
}

// checkUntilFails runs c at its interval until it fails (its error) or
// ctx is done (nil).
func (m *Monitor) checkUntilFails(ctx context.Context, c Checker) error {
	t := time.NewTicker(or(c.Interval(), or(m.HealthyInterval, DefaultHealthyInterval)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := c.Check(ctx); err != nil && ctx.Err() == nil {
			return err
		}
	}
}

func (m *Monitor) logf(format string, args ...any) {
	if m.Log != nil {
		fmt.Fprintf(m.Log, format, args...)
	}
}

func (m *Monitor) healthf(format string, args ...any) {
	if m.HealthLog != nil {
		fmt.Fprintf(m.HealthLog, format, args...)
	}
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
