package actions

import (
	"context"
	"io"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/each"
)

// serialStep runs its steps in order and stops at the first error.
type serialStep []Step

func (s serialStep) Run(ctx context.Context) error {
	for _, step := range s {
		if ctx.Err() != nil {
			return &CancelledError{}
		}
		if err := step.Run(ctx); err != nil {
			return err
		}
	}
	return nil
}

// parallelStep runs all its steps at once, waits for every one and
// aggregates their errors.
type parallelStep []Step

func (s parallelStep) Run(ctx context.Context) error {
	return aggregate(nonNil(each.Parallel(len(s), func(i int) error { return s[i].Run(ctx) })))
}

// codependentStep runs all its steps at once; the first to finish with an
// error (or, with errorOnExit, at all) cancels the rest. It returns every
// sub-step's error, aggregated, in the order they finished.
type codependentStep struct {
	steps       []Step
	errorOnExit bool
	// cancelOnSuccess cancels the others when one succeeds without
	// errorOnExit (the reference's cancelOthersOnExit).
	cancelOnSuccess bool
}

func (s *codependentStep) Run(ctx context.Context) error {
	if len(s.steps) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu   sync.Mutex
		errs []error // in the order the steps finished; guarded by mu
		wg   sync.WaitGroup
	)
	finished := func(err error) {
		if err == nil && s.errorOnExit {
			err = ErrCodependentExited
		}
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			cancel()
		} else if s.cancelOnSuccess {
			cancel()
		}
	}
	// The last step runs in this goroutine: a running LRP instance (its
	// action beside its monitor) holds one goroutine fewer.
	last := len(s.steps) - 1
	for _, step := range s.steps[:last] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			finished(step.Run(ctx))
		}()
	}
	finished(s.steps[last].Run(ctx))
	wg.Wait()
	return aggregate(errs)
}

// timeoutStep cancels its step when it runs longer than timeout.
type timeoutStep struct {
	step    Step
	timeout time.Duration
}

func (s *timeoutStep) Run(ctx context.Context) error {
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.step.Run(inner) }()
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		cancel()
		err := <-done
		return &EmittableError{Msg: timeoutMessage(s.timeout, err), Err: err}
	}
}

// timeoutMessage is the reference's "exceeded 5s timeout", followed by the
// step's own failure reason when it has one.
func timeoutMessage(d time.Duration, err error) string {
	msg := "exceeded " + d.String() + " timeout"
	if e, ok := err.(*EmittableError); ok {
		msg += "; " + e.Error()
	}
	return msg
}

// tryStep runs its step and swallows its error. A cancelled try still
// reports the cancellation so that enclosing serial steps stop.
type tryStep struct{ step Step }

func (s tryStep) Run(ctx context.Context) error {
	_ = s.step.Run(ctx)
	if ctx.Err() != nil {
		return &CancelledError{}
	}
	return nil
}

// emitProgressStep writes start, success and failure messages around its
// step. The failure line is "<prefix>: <failure reason>" when the error
// carries a reason for users, else just "<prefix>".
type emitProgressStep struct {
	step  Step
	model *models.EmitProgressAction
	deps  Deps
}

func (s *emitProgressStep) Run(ctx context.Context) error {
	if s.model.StartMessage != "" {
		io.WriteString(s.deps.Stdout, s.model.StartMessage+"\n")
	}
	err := s.step.Run(ctx)
	switch {
	case err != nil && s.model.FailureMessagePrefix != "":
		line := s.model.FailureMessagePrefix
		if e, ok := err.(*EmittableError); ok {
			line += ": " + e.Error()
		}
		io.WriteString(s.deps.Stderr, line+"\n")
	case err == nil && s.model.SuccessMessage != "":
		io.WriteString(s.deps.Stdout, s.model.SuccessMessage+"\n")
	}
	return err
}

func nonNil(errs []error) []error {
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}
