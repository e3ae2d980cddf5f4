package actions

// The monitor action's transform, as the reference executor builds it
// (depot/transformer/transformer.go: the monitor's steps are built with
// the exit status suppressed, log output forced on, and every parallel or
// codependent sub-action's output captured as its failure reason, through
// depot/steps/output_wrapper_step.go).

import (
	"context"
	"strings"
	"sync"

	"code.cloudfoundry.org/bbs/models"
)

// outputWrapperStep runs its step with its output captured (it is the
// step's stdout and stderr); a failure is reported as that output, trimmed,
// or "Failed to invoke process: <error>" when there was none.
type outputWrapperStep struct {
	step Step
	mu   sync.Mutex
	out  []byte
}

func (s *outputWrapperStep) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.out = append(s.out, p...)
	s.mu.Unlock()
	return len(p), nil
}

func (s *outputWrapperStep) Run(ctx context.Context) error {
	err := s.step.Run(ctx)
	if err == nil {
		return nil
	}
	s.mu.Lock()
	out := strings.TrimSpace(string(s.out))
	s.mu.Unlock()
	msg := "Failed to invoke process: " + err.Error()
	if out != "" {
		msg = out
	}
	return &EmittableError{Msg: msg, Err: err}
}

// buildSubs builds the sub-actions of a parallel or codependent action;
// under a monitor each one's output is captured as its failure reason.
func buildSubs(as []*models.Action, deps Deps) ([]Step, error) {
	if !deps.Monitor {
		return buildAll(as, deps)
	}
	steps := make([]Step, 0, len(as))
	for _, a := range as {
		w := &outputWrapperStep{}
		d := deps
		d.Stdout, d.Stderr = w, w
		step, err := build(a, d)
		if err != nil {
			return nil, err
		}
		w.step = step
		steps = append(steps, w)
	}
	return steps, nil
}

// Codependent runs steps at once until the first fails, which cancels the
// rest; with errorOnExit a step that succeeds counts as failed ("Codependent
// step exited"). It returns the steps' errors aggregated in the order they
// finished, nil when every step succeeded. It is how the reference runs an
// LRP's action beside its sidecars and monitor (without errorOnExit: the
// action exiting 0 leaves the others running).
func Codependent(steps []Step, errorOnExit bool) Step {
	return &codependentStep{steps: steps, errorOnExit: errorOnExit}
}
