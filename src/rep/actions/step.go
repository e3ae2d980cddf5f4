package actions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/each"
	"github.com/diego-go/diego/src/rep/container"
)

// Step is one runnable node of an action tree. Cancelling ctx cancels the
// step: running processes are signalled and Run returns an error matching
// ErrCancelled.
type Step interface {
	Run(ctx context.Context) error
}

// StepFunc adapts a function to Step.
type StepFunc func(ctx context.Context) error

// Run calls f.
func (f StepFunc) Run(ctx context.Context) error { return f(ctx) }

// Default timings used when Deps leaves them zero.
const (
	DefaultGracefulShutdown = 10 * time.Second
	DefaultExitTimeout      = 1 * time.Second
)

// Deps is what steps need from their surroundings.
type Deps struct {
	Container container.Container
	// Stdout and Stderr receive process output and progress messages
	// (nil = discarded).
	Stdout, Stderr io.Writer
	// LogSource prefixes exit-status failure reasons ("APP/PROC/WEB:
	// Exited with status 1"); an action's own LogSource overrides it.
	LogSource string
	// Sourced, when set, gives the output writers of an action with a
	// LogSource of its own (the executor's streamer.WithSource); nil: such
	// actions write to Stdout and Stderr too.
	Sourced func(logSource string) (stdout, stderr io.Writer)
	// Downloader fetches download actions' artifacts; nil = a Downloader
	// with no cache and http.DefaultClient.
	Downloader *Downloader
	// Uploader posts upload actions' files; nil = an Uploader with
	// http.DefaultClient.
	Uploader *Uploader
	// GracefulShutdown is how long a cancelled process gets between
	// SIGTERM and SIGKILL; ExitTimeout how long to wait after SIGKILL.
	GracefulShutdown time.Duration
	ExitTimeout      time.Duration
	// Monitor builds a desired LRP's monitor action as the reference
	// does: run actions always log their output and fail without an exit
	// status reason, and parallel and codependent sub-actions fail with
	// their output as the reason (see monitor.go).
	Monitor bool
}

func (d Deps) withDefaults() Deps {
	if d.Stdout == nil {
		d.Stdout = io.Discard
	}
	if d.Stderr == nil {
		d.Stderr = io.Discard
	}
	if d.Downloader == nil {
		d.Downloader = &Downloader{}
	}
	if d.Uploader == nil {
		d.Uploader = &Uploader{}
	}
	if d.GracefulShutdown <= 0 {
		d.GracefulShutdown = DefaultGracefulShutdown
	}
	if d.ExitTimeout <= 0 {
		d.ExitTimeout = DefaultExitTimeout
	}
	return d
}

func (d Deps) withSource(src string) Deps {
	if src != "" {
		d.LogSource = src
		if d.Sourced != nil {
			d.Stdout, d.Stderr = d.Sourced(src)
		}
	}
	return d
}

// Build turns an action tree into a Step that runs in deps.Container.
func Build(action *models.Action, deps Deps) (Step, error) {
	if deps.Container == nil {
		return nil, errors.New("actions: no container")
	}
	return build(action, deps.withDefaults())
}

func build(action *models.Action, deps Deps) (Step, error) {
	if action == nil {
		return nil, errors.New("actions: empty action")
	}
	switch a := action.GetValue().(type) {
	case *models.RunAction:
		return &runStep{model: a, deps: deps.withSource(a.LogSource)}, nil
	case *models.DownloadAction:
		return &downloadStep{model: a, deps: deps.withSource(a.LogSource)}, nil
	case *models.UploadAction:
		return &uploadStep{model: a, deps: deps.withSource(a.LogSource)}, nil
	case *models.SerialAction:
		subs, err := buildAll(a.Actions, deps.withSource(a.LogSource))
		if err != nil {
			return nil, err
		}
		return serialStep(subs), nil
	case *models.ParallelAction:
		subs, err := buildSubs(a.Actions, deps.withSource(a.LogSource))
		if err != nil {
			return nil, err
		}
		return parallelStep(subs), nil
	case *models.CodependentAction:
		subs, err := buildSubs(a.Actions, deps.withSource(a.LogSource))
		if err != nil {
			return nil, err
		}
		return &codependentStep{steps: subs, errorOnExit: true}, nil
	case *models.TimeoutAction:
		inner, err := build(a.Action, deps.withSource(a.LogSource))
		if err != nil {
			return nil, fmt.Errorf("timeout: %w", err)
		}
		d := time.Duration(a.TimeoutMs) * time.Millisecond
		if d == 0 {
			d = time.Duration(a.DeprecatedTimeoutNs) //nolint:staticcheck // older clients
		}
		if d <= 0 {
			return nil, errors.New("actions: timeout action without a timeout")
		}
		return &timeoutStep{step: inner, timeout: d}, nil
	case *models.TryAction:
		inner, err := build(a.Action, deps.withSource(a.LogSource))
		if err != nil {
			return nil, fmt.Errorf("try: %w", err)
		}
		return tryStep{inner}, nil
	case *models.EmitProgressAction:
		d := deps.withSource(a.LogSource)
		inner, err := build(a.Action, d)
		if err != nil {
			return nil, fmt.Errorf("emit_progress: %w", err)
		}
		return &emitProgressStep{step: inner, model: a, deps: d}, nil
	default:
		return nil, fmt.Errorf("actions: unknown action %T", a)
	}
}

func buildAll(as []*models.Action, deps Deps) ([]Step, error) {
	return each.Map(as, "action", func(a *models.Action) (Step, error) { return build(a, deps) })
}
