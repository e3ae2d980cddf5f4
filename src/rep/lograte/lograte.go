// Package lograte limits what a container logs per second (a desired LRP's
// or task's log_rate_limit, the cell's max_log_lines_per_second), dropping
// lines over the limit with the executor's notice.
package lograte

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// Unlimited is the bytes-per-second value of a desired LRP or task without
// a log_rate_limit (the rep's conversion of a missing one).
const Unlimited = -1

// overageQuiet is how long every line is dropped after one went over the
// limit (the executor's one second).
const overageQuiet = time.Second

// Writer passes whole lines to W while they fit the limits. A line over a
// limit is dropped, the notice "app instance exceeded log rate limit (N
// bytes/sec)" (or "(N log-lines/sec) set by platform operator") is written
// in its place, and every line of the following second is dropped too.
// Lines are the pieces of each Write up to and including a newline; a piece
// without one counts as a line. Lengths exclude the newline, as the
// executor's messages do.
type Writer struct {
	w            io.Writer
	bytesPerSec  int64
	linesPerSec  int
	now          func() time.Time
	mu           sync.Mutex
	bytesBucket  bucket
	linesBucket  bucket
	lastOverage  time.Time
	overageValid bool
}

// New wraps w. bytesPerSecond < 0 is no byte limit, 0 drops everything
// (silently, as the executor); linesPerSecond <= 0 is no line limit. now
// is time.Now outside tests. Without limits New returns w itself.
func New(w io.Writer, bytesPerSecond int64, linesPerSecond int, now func() time.Time) io.Writer {
	if bytesPerSecond < 0 && linesPerSecond <= 0 {
		return w
	}
	if now == nil {
		now = time.Now
	}
	t := now()
	return &Writer{
		w: w, bytesPerSec: bytesPerSecond, linesPerSec: linesPerSecond, now: now,
		bytesBucket: bucket{rate: float64(bytesPerSecond), tokens: float64(bytesPerSecond), last: t},
		linesBucket: bucket{rate: float64(linesPerSecond), tokens: float64(linesPerSecond), last: t},
	}
}

// Write implements io.Writer; it never fails for dropped lines.
func (l *Writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for rest := p; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if notice, ok := l.allow(len(bytes.TrimSuffix(line, []byte("\n")))); !ok {
			if notice != "" {
				_, _ = io.WriteString(l.w, notice+"\n")
			}
			continue
		}
		if _, err := l.w.Write(line); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// allow reports whether a line of n bytes may pass, and the notice to log
// when it goes over a limit.
func (l *Writer) allow(n int) (string, bool) {
	if l.bytesPerSec == 0 {
		return "", false
	}
	now := l.now()
	if l.overageValid && now.Before(l.lastOverage.Add(overageQuiet)) {
		return "", false
	}
	if l.bytesPerSec > 0 && !l.bytesBucket.take(now, float64(n)) {
		l.lastOverage, l.overageValid = now, true
		return fmt.Sprintf("app instance exceeded log rate limit (%d bytes/sec)", l.bytesPerSec), false
	}
	if l.linesPerSec > 0 && !l.linesBucket.take(now, 1) {
		l.lastOverage, l.overageValid = now, true
		return fmt.Sprintf("app instance exceeded log rate limit (%d log-lines/sec) set by platform operator", l.linesPerSec), false
	}
	return "", true
}

// bucket is a token bucket holding at most rate tokens (one second's
// worth), refilled at rate per second.
type bucket struct {
	rate, tokens float64
	last         time.Time
}

func (b *bucket) take(now time.Time, n float64) bool {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(b.rate, b.tokens+elapsed*b.rate)
		b.last = now
	}
	if n > b.tokens {
		return false
	}
	b.tokens -= n
	return true
}
