package actions

import (
	"context"
	"fmt"
	"io"
	"syscall"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/lograte"
)

// runStep runs a process in the container and waits for it.
type runStep struct {
	model *models.RunAction
	deps  Deps
}

func (s *runStep) spec() container.ProcessSpec {
	spec := container.ProcessSpec{
		Path: s.model.Path,
		Args: s.model.Args,
		Dir:  s.model.Dir,
		User: s.model.User,
	}
	for _, e := range s.model.Env {
		spec.Env = append(spec.Env, e.Name+"="+e.Value)
	}
	if rl := s.model.ResourceLimits; rl != nil && rl.GetNofile() > 0 {
		spec.NoFile = rl.GetNofile()
	}
	return spec
}

func (s *runStep) Run(ctx context.Context) error {
	if ctx.Err() != nil {
		return &CancelledError{}
	}
	pio := container.ProcessIO{}
	if !s.model.SuppressLogOutput || s.deps.Monitor {
		pio.Stdout, pio.Stderr = s.deps.Stdout, s.deps.Stderr
	}
	// The process must outlive ctx: cancellation is delivered as signals.
	proc, err := s.deps.Container.Run(context.WithoutCancel(ctx), s.spec(), pio)
	if err != nil {
		if ctx.Err() != nil {
			return &CancelledError{}
		}
		return fmt.Errorf("run %s: %w", s.model.Path, err)
	}

	type exit struct {
		status int
		err    error
	}
	exited := make(chan exit, 1)
	var gone <-chan struct{} // closed once proc has exited, where the backend tells
	if n, ok := proc.(container.ExitNotifier); ok {
		gone = n.Exited()
	} else {
		go func() {
			status, err := proc.Wait()
			exited <- exit{status, err}
		}()
	}

	var (
		done      = ctx.Done()
		cancelled bool
		killed    bool
		graceC    <-chan time.Time
		exitC     <-chan time.Time
		timers    []*time.Timer
	)
	defer func() {
		for _, t := range timers {
			t.Stop()
		}
	}()
	for {
		select {
		case <-gone:
			gone = nil
			status, err := proc.Wait() // at once: the process has exited
			exited <- exit{status, err}
		case e := <-exited:
			if e.err != nil {
				return fmt.Errorf("run %s: waiting: %w", s.model.Path, e.err)
			}
			return s.exited(ctx, e.status, cancelled, killed)
		case <-done:
			done, cancelled = nil, true
			graceC = signalThenWait(proc, syscall.SIGTERM, s.deps.GracefulShutdown, &timers)
		case <-graceC:
			graceC, killed = nil, true
			exitC = signalThenWait(proc, syscall.SIGKILL, s.deps.ExitTimeout, &timers)
		case <-exitC:
			return &ExitTimeoutError{}
		}
	}
}

// signalThenWait sends sig to proc and returns a channel that fires after
// d; the timer is added to timers, for stopping.
func signalThenWait(proc container.Process, sig syscall.Signal, d time.Duration, timers *[]*time.Timer) <-chan time.Time {
	proc.Signal(sig)
	t := time.NewTimer(d)
	*timers = append(*timers, t)
	return t.C
}

// exited turns an exit status into the step's result, with the reference's
// texts: "Exit status N" in the log and "<source>: Exited with status N"
// as the failure reason (both empty under a monitor, whose exit status the
// reference suppresses).
func (s *runStep) exited(ctx context.Context, status int, cancelled, killed bool) error {
	logMsg := fmt.Sprintf("Exit status %d", status)
	reason := fmt.Sprintf("Exited with status %d", status)
	if s.deps.LogSource != "" {
		reason = s.deps.LogSource + ": " + reason
	}
	if s.deps.Monitor {
		logMsg, reason = "", ""
	}
	if killed {
		logMsg += fmt.Sprintf(" (exceeded %s graceful shutdown interval)", s.deps.GracefulShutdown)
	}
	if status != 0 {
		if info, err := s.deps.Container.Info(context.WithoutCancel(ctx)); err == nil && info.OOMKilled {
			logMsg += " (out of memory)"
			reason += " (out of memory)"
		}
	}
	if (!s.model.SuppressLogOutput || s.deps.Monitor) && logMsg != "" {
		io.WriteString(s.deps.Stdout, logMsg+"\n")
	}
	if !s.model.SuppressLogOutput { // the executor flushes the streams here
		lograte.Flush(s.deps.Stdout)
		lograte.Flush(s.deps.Stderr)
	}
	switch {
	case killed:
		return &ExceededGracefulShutdownError{}
	case cancelled:
		return &CancelledError{}
	case status != 0:
		return &EmittableError{Msg: reason}
	}
	return nil
}
