// Package actions turns a BBS action tree into runnable steps executed in a container.
package actions

import (
	"errors"
	"strings"
)

// ErrCancelled is returned (wrapped in *CancelledError) by a step whose
// context was cancelled before it finished.
var ErrCancelled = errors.New("cancelled")

// CancelledError reports that a step was cancelled. Its text is the
// reference's "cancelled"; it is not shown in aggregated failure reasons.
type CancelledError struct{}

func (*CancelledError) Error() string        { return "cancelled" }
func (*CancelledError) Is(target error) bool { return target == ErrCancelled }
func (*CancelledError) displayable() bool    { return false }

// ExceededGracefulShutdownError reports that a cancelled process had to be
// killed because it outlived the graceful shutdown interval.
type ExceededGracefulShutdownError struct{}

func (*ExceededGracefulShutdownError) Error() string        { return "exceeded graceful shutdown interval" }
func (*ExceededGracefulShutdownError) Is(target error) bool { return target == ErrCancelled }
func (*ExceededGracefulShutdownError) displayable() bool    { return false }

// ExitTimeoutError reports that a killed process never exited.
type ExitTimeoutError struct{}

func (*ExitTimeoutError) Error() string        { return "process did not exit" }
func (*ExitTimeoutError) Is(target error) bool { return target == ErrCancelled }

// ErrCodependentExited is the reference's error for a codependent sub-step
// that finished successfully (which stops its siblings).
var ErrCodependentExited = errors.New("Codependent step exited")

// EmittableError carries a message fit for users (a crash or failure
// reason) and the underlying error.
type EmittableError struct {
	Msg string
	Err error
}

func (e *EmittableError) Error() string { return e.Msg }
func (e *EmittableError) Unwrap() error { return e.Err }

// AggregateError collects the errors of parallel or codependent sub-steps.
// Its text joins the displayable ones with "; " like the reference.
type AggregateError struct {
	Errors []error
}

func (e *AggregateError) Error() string {
	var parts []string
	for _, err := range e.Errors {
		if d, ok := err.(interface{ displayable() bool }); ok && !d.displayable() {
			continue
		}
		if s := err.Error(); s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 && len(e.Errors) > 0 {
		return e.Errors[0].Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes the collected errors to errors.Is and errors.As.
func (e *AggregateError) Unwrap() []error { return e.Errors }

func aggregate(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return &AggregateError{Errors: errs}
}
