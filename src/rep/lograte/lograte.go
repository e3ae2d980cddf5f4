// Package lograte limits what a container logs per second (a desired LRP's
// or task's log_rate_limit, the cell's max_log_lines_per_second), dropping
// messages over the limit with the executor's notice.
package lograte

import (
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"
)

// Unlimited is the bytes-per-second value of a desired LRP or task without
// a log_rate_limit (the rep's conversion of a missing one).
const Unlimited = -1

// MaxMessageSize is the longest message the executor's log streamer sends:
// a longer line is split into messages of this size (on a UTF-8 boundary).
const MaxMessageSize = 61440

// overageQuiet is how long every message is dropped after one went over
// the limit (the executor's one second).
const overageQuiet = time.Second

// Streams are a container's stdout and stderr under one limit.
type Streams struct {
	Stdout, Stderr io.Writer
}

// Flush passes on what the streams hold of unterminated lines, as the
// executor's run step does when its process exits.
func (s Streams) Flush() {
	Flush(s.Stdout)
	Flush(s.Stderr)
}

// Flush flushes w if it is a Stream.
func Flush(w io.Writer) {
	if s, ok := w.(*Stream); ok {
		s.Flush()
	}
}

// New returns the container's stdout and stderr writing to w under the
// limits: NewLimiter(bytesPerSecond, linesPerSecond, now).Streams(w, w).
func New(w io.Writer, bytesPerSecond int64, linesPerSecond int, now func() time.Time) Streams {
	return NewLimiter(bytesPerSecond, linesPerSecond, now).Streams(w, w)
}

// Limiter is the limit all of a container's streams share, as the
// executor's log streamer and the streamers it derives for other log
// sources share one rate limiter. A nil Limiter is no limit.
type Limiter struct {
	bytesPerSec  int64
	linesPerSec  int
	now          func() time.Time
	mu           sync.Mutex
	bytesBucket  bucket
	linesBucket  bucket
	lastOverage  time.Time
	overageValid bool
	line         []byte
}

// NewLimiter returns the limit of a container whose log_rate_limit is
// bytesPerSecond and whose cell allows linesPerSecond. bytesPerSecond < 0
// is no byte limit, 0 drops everything (silently, as the executor);
// linesPerSecond <= 0 is no line limit; without limits it returns nil. now
// is time.Now outside tests.
func NewLimiter(bytesPerSecond int64, linesPerSecond int, now func() time.Time) *Limiter {
	if bytesPerSecond < 0 && linesPerSecond <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	t := now()
	return &Limiter{
		bytesPerSec: bytesPerSecond, linesPerSec: linesPerSecond, now: now,
		bytesBucket: bucket{rate: float64(bytesPerSecond), tokens: float64(bytesPerSecond), last: t},
		linesBucket: bucket{rate: float64(linesPerSecond), tokens: float64(linesPerSecond), last: t},
	}
}

// Streams returns a stdout and a stderr under the limit, as the executor's
// log streamer makes them: each stream cuts its output into messages (a
// line, ended by "\n" or "\r", or MaxMessageSize bytes of one; empty lines
// are no message) and writes each message with a newline to its writer
// (stdout's to stdout, stderr's to stderr) while it fits the limits; one
// over a limit is dropped, the notice "app instance exceeded log rate
// limit (N bytes/sec)" (or "(N log-lines/sec) set by platform operator")
// is written to stdout in its place, and every message of the following
// second is dropped too. Lengths exclude the newline, as the executor's
// messages do. Writes of all the limiter's streams are serialised. A nil
// Limiter returns the writers themselves.
func (l *Limiter) Streams(stdout, stderr io.Writer) Streams {
	if l == nil {
		return Streams{Stdout: stdout, Stderr: stderr}
	}
	return Streams{Stdout: &Stream{l: l, w: stdout, notice: stdout}, Stderr: &Stream{l: l, w: stderr, notice: stdout}}
}

// Stream is one of a container's output streams: it holds an unterminated
// line until it ends, fills a message or is flushed.
type Stream struct {
	l         *Limiter
	w, notice io.Writer
	mu        sync.Mutex
	buf       []byte
}

// Write implements io.Writer; it never fails for dropped messages.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := 0
	for i, b := range p {
		if b == '\n' || b == '\r' {
			if err := s.add(p[start:i], true); err != nil {
				return 0, err
			}
			start = i + 1
		}
	}
	if err := s.add(p[start:], false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush sends what the stream holds as a message.
func (s *Stream) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.send()
}

// add appends a piece of a line, sending each full message and, when the
// line ends, the rest.
func (s *Stream) add(piece []byte, ends bool) error {
	for len(s.buf)+len(piece) > MaxMessageSize {
		cut := MaxMessageSize - len(s.buf)
		// Keep a character the cut would split for the next message.
		for back := 0; back < 3 && cut > 0; back++ {
			if r, _ := utf8.DecodeLastRune(piece[:cut]); r != utf8.RuneError {
				break
			}
			cut--
		}
		s.buf = append(s.buf, piece[:cut]...)
		piece = piece[cut:]
		if err := s.send(); err != nil {
			return err
		}
	}
	s.buf = append(s.buf, piece...)
	if ends {
		return s.send()
	}
	return nil
}

func (s *Stream) send() error {
	if len(s.buf) == 0 {
		return nil
	}
	msg := s.buf
	s.buf = s.buf[:0]
	return s.l.write(s.w, s.notice, msg)
}

// write writes msg and a newline to w if it fits, else the notice to
// notice (or nothing).
func (l *Limiter) write(w, notice io.Writer, msg []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok := l.allow(len(msg))
	if !ok {
		if n != "" {
			_, _ = io.WriteString(notice, n+"\n")
		}
		return nil
	}
	l.line = append(append(l.line[:0], msg...), '\n')
	_, err := w.Write(l.line)
	return err
}

// allow reports whether a message of n bytes may pass, and the notice to
// log when it goes over a limit.
func (l *Limiter) allow(n int) (string, bool) {
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
