// Package testutil holds the polling, network and output helpers the test suites share.
package testutil

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// Poll intervals: Eventually looks again after firstPoll, doubling the pause
// up to maxPoll, so a condition that holds soon is seen soon and a slow one
// is not polled in a busy loop.
const (
	firstPoll = 100 * time.Microsecond
	maxPoll   = 50 * time.Millisecond
)

// Eventually polls cond until it reports true, failing tb after within with
// what and cond's last message.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for pause := firstPoll; time.Now().Before(deadline); pause = min(2*pause, maxPoll) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(pause)
	}
	tb.Fatalf("timed out after %s waiting for %s; last: %s", within, what, last)
}

// WaitFor is Eventually for a condition with nothing to say while it fails.
func WaitFor(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	Eventually(tb, within, what, func() (bool, string) { return cond(), "not yet" })
}

// FreeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago, for a server the test starts next.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// SyncBuffer is a bytes.Buffer safe to write from several goroutines (a
// process's output copiers, a logger) while a test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
