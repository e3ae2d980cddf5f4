package actions

// The monitor action's transform, as the reference executor builds it
// (depot/transformer/transformer.go: the monitor's steps are built with
// the exit status suppressed, log output forced on, and every parallel or
// codependent sub-action's output captured as its failure reason, through
// depot/steps/output_wrapper_step.go).

import (
	"bytes"
	"context"
	"strings"
	"sync"

	"code.cloudfoundry.org/bbs/models"
)

// lockedBuffer is a sub-action's captured output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// outputWrapperStep runs its step with its output captured; a failure is
// reported as that output, trimmed, or "Failed to invoke process: <error>"
// when there was none.
type outputWrapperStep struct {
	step Step
	out  *lockedBuffer
}

func (s *outputWrapperStep) Run(ctx context.Context) error {
	err := s.step.Run(ctx)
	if err == nil {
		return nil
	}
	msg := "Failed to invoke process: " + err.Error()
	if out := strings.TrimSpace(s.out.String()); out != "" {
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
		out := &lockedBuffer{}
		d := deps
		d.Stdout, d.Stderr = out, out
		step, err := build(a, d)
		if err != nil {
			return nil, err
		}
		steps = append(steps, &outputWrapperStep{step: step, out: out})
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
