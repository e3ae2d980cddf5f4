// Package serve runs a component's servers in the background, reports the
// first failure and stops the component with a deadline when it ends.
package serve

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
)

// StopTimeout is how long Until gives a component to stop.
const StopTimeout = 15 * time.Second

// Group runs servers in the background. A server's failure other than a
// shutdown (http.ErrServerClosed, grpc.ErrServerStopped) is reported on
// Errors, as are the failures given to Fail.
type Group struct {
	wg   sync.WaitGroup
	errs chan error
}

// NewGroup returns a group that buffers up to size failures.
func NewGroup(size int) *Group { return &Group{errs: make(chan error, size)} }

// Go runs serve in the background.
func (g *Group) Go(serve func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
			g.errs <- err
		}
	}()
}

// Fail reports err on Errors.
func (g *Group) Fail(err error) { g.errs <- err }

// Errors receives the failures.
func (g *Group) Errors() <-chan error { return g.errs }

// Wait waits for every server started with Go to return.
func (g *Group) Wait() { g.wg.Wait() }

// Until blocks until ctx ends or a failure arrives on errs (logged with
// stopping as the message), then calls stop with a StopTimeout deadline. It
// returns the failure (nil when ctx ended) joined with stop's error.
func Until(ctx context.Context, errs <-chan error, log *slog.Logger, stopping string, stop func(context.Context) error) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
		log.Error(stopping, "error", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	return errors.Join(err, stop(sctx))
}

// Every calls fn each interval, with the tick's time, until ctx ends (the
// first call comes one interval after Every starts).
func Every(ctx context.Context, interval time.Duration, fn func(now time.Time)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fn(now)
		}
	}
}

// Sleep waits d, reporting false when ctx ends first.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
