package serve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

func TestGroupReportsFailuresButNotShutdowns(t *testing.T) {
	g := NewGroup(2)
	boom := errors.New("boom")
	g.Go(func() error { return http.ErrServerClosed })
	g.Go(func() error { return nil })
	g.Go(func() error { return boom })
	g.Wait()
	select {
	case err := <-g.Errors():
		if !errors.Is(err, boom) {
			t.Fatalf("reported %v, want boom", err)
		}
	default:
		t.Fatal("the failure was not reported")
	}
	select {
	case err := <-g.Errors():
		t.Fatalf("also reported %v", err)
	default:
	}
}

func TestUntilStopsOnTheFirstFailure(t *testing.T) {
	g := NewGroup(1)
	boom, stopErr := errors.New("boom"), errors.New("stop failed")
	g.Fail(boom)
	var stopped bool
	err := Until(context.Background(), g.Errors(), slog.New(slog.NewTextHandler(io.Discard, nil)), "stopping", func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("stop got no deadline")
		}
		stopped = true
		return stopErr
	})
	if !stopped || !errors.Is(err, boom) || !errors.Is(err, stopErr) {
		t.Fatalf("Until = %v (stopped %v), want boom and the stop error", err, stopped)
	}
}

func TestUntilReturnsNilWhenCtxEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Until(ctx, NewGroup(1).Errors(), slog.Default(), "stopping", func(context.Context) error { return nil })
	if err != nil {
		t.Fatalf("Until = %v, want nil", err)
	}
}

func TestEveryTicksUntilCtxEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	Every(ctx, time.Millisecond, func(time.Time) {
		if n++; n == 3 {
			cancel()
		}
	})
	if n < 3 {
		t.Fatalf("fn ran %d times before Every returned, want at least 3", n)
	}
}
