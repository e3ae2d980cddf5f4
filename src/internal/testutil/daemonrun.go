package testutil

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// DaemonRun is a daemon command running in-process (see
// command.Daemon.Execute) until Stop.
type DaemonRun struct {
	tb     testing.TB
	name   string
	cancel context.CancelFunc
	done   chan error
	// Logs is what the command wrote to stderr (its JSON logs).
	Logs SyncBuffer
}

// StartDaemon runs execute with args in the background; it is stopped
// (without checks) when the test ends if Stop was not called.
func StartDaemon(tb testing.TB, name string, execute func(ctx context.Context, args []string, stdout, stderr io.Writer) error, args ...string) *DaemonRun {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &DaemonRun{tb: tb, name: name, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- execute(ctx, args, io.Discard, &r.Logs) }()
	tb.Cleanup(cancel)
	return r
}

// WaitFor polls cond every 50 ms until it holds, failing if within passes
// or the command exits first.
func (r *DaemonRun) WaitFor(within time.Duration, what string, cond func() bool) {
	r.tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		select {
		case err := <-r.done:
			r.tb.Fatalf("waiting for %s: %s exited: %v", what, r.name, err)
		default:
		}
		if time.Now().After(deadline) {
			r.tb.Fatalf("waiting for %s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop cancels the command's context (what SIGTERM does) and fails unless
// it returns nil within the given time.
func (r *DaemonRun) Stop(within time.Duration) {
	r.tb.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.tb.Fatalf("run returned %v after stop, want nil", err)
		}
	case <-time.After(within):
		r.tb.Fatal("run did not stop")
	}
}

// LogsContain checks that the logs hold every want (call after Stop).
func (r *DaemonRun) LogsContain(wants ...string) {
	r.tb.Helper()
	logs := r.Logs.String()
	for _, want := range wants {
		if !strings.Contains(logs, want) {
			r.tb.Errorf("JSON logs lack %s:\n%s", want, logs)
		}
	}
}

// MetricsContain fetches http://addr/metrics and checks that it holds
// every want.
func MetricsContain(tb testing.TB, addr string, wants ...string) {
	tb.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range wants {
		if !strings.Contains(string(body), want) {
			tb.Errorf("/metrics lacks %q", want)
		}
	}
}
