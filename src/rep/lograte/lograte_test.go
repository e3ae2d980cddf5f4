package lograte_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/rep/lograte"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBytesPerSecondDropsWithNoticeThenRecovers(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var out bytes.Buffer
	w := lograte.New(&out, 10, 0, c.now).Stdout
	io.WriteString(w, "12345\n1234\n") // 9 bytes of 10
	io.WriteString(w, "xy\n")          // over: notice, dropped
	c.t = c.t.Add(500 * time.Millisecond)
	io.WriteString(w, "a\n") // within the quiet second: dropped silently
	c.t = c.t.Add(600 * time.Millisecond)
	io.WriteString(w, "back\n") // the bucket has refilled
	want := "12345\n1234\napp instance exceeded log rate limit (10 bytes/sec)\nback\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func TestLinesPerSecond(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var out bytes.Buffer
	w := lograte.New(&out, lograte.Unlimited, 2, c.now).Stdout
	io.WriteString(w, "a\nb\nc\n")
	want := "a\nb\napp instance exceeded log rate limit (2 log-lines/sec) set by platform operator\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func TestZeroDropsEverythingAndUnlimitedIsTheWriter(t *testing.T) {
	var out bytes.Buffer
	w := lograte.New(&out, 0, 0, nil).Stderr
	if n, err := io.WriteString(w, "hello\n"); n != 6 || err != nil || out.Len() != 0 {
		t.Errorf("limit 0: wrote %d, %v, output %q; want everything dropped silently", n, err, out.String())
	}
	if s := lograte.New(&out, lograte.Unlimited, 0, nil); s.Stdout != io.Writer(&out) || s.Stderr != io.Writer(&out) {
		t.Errorf("without limits New returned %T, %T, want the writer itself", s.Stdout, s.Stderr)
	}
}

// TestStreamsSplitAsTheExecutor: stdout and stderr are cut into messages
// separately (a line held across writes until it ends in "\n" or "\r" or
// is flushed, no empty messages) and share one limit.
func TestStreamsSplitAsTheExecutor(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var out bytes.Buffer
	s := lograte.New(&out, 1000, 4, c.now)
	io.WriteString(s.Stdout, "hel")
	io.WriteString(s.Stderr, "err\r\n")
	io.WriteString(s.Stdout, "lo\n\nwor")
	io.WriteString(s.Stdout, "ld\rpartial")
	s.Flush()
	io.WriteString(s.Stderr, "fifth\n") // the fifth message of the second: over 4 lines
	want := "err\nhello\nworld\npartial\n" +
		"app instance exceeded log rate limit (4 log-lines/sec) set by platform operator\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

// TestLongLineSplitAtMaxMessageSize: a line longer than the executor's
// 60 KB message is cut into messages of that size, never inside a UTF-8
// character, each counted against the limit.
func TestLongLineSplitAtMaxMessageSize(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var out bytes.Buffer
	s := lograte.New(&out, 1<<20, 0, c.now)
	// "é" (2 bytes) straddles the first cut at 61,440 bytes.
	line := strings.Repeat("a", lograte.MaxMessageSize-1) + "é" + strings.Repeat("b", 100)
	io.WriteString(s.Stdout, line+"\n")
	msgs := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(msgs) != 2 || len(msgs[0]) != lograte.MaxMessageSize-1 || msgs[1] != "é"+strings.Repeat("b", 100) {
		t.Fatalf("got %d messages of %v bytes, want %d then the rest", len(msgs), lens(msgs), lograte.MaxMessageSize-1)
	}

	out.Reset()
	small := lograte.New(&out, 70000, 0, c.now)
	io.WriteString(small.Stdout, strings.Repeat("x", 2*lograte.MaxMessageSize)+"\n")
	want := strings.Repeat("x", lograte.MaxMessageSize) + "\napp instance exceeded log rate limit (70000 bytes/sec)\n"
	if out.String() != want {
		t.Errorf("got %d bytes, want one message then the notice", out.Len())
	}
}

func lens(ss []string) []int {
	var n []int
	for _, s := range ss {
		n = append(n, len(s))
	}
	return n
}

// TestLimiterStreamsShareTheLimitWithTheirOwnWriters: streams made for
// several log sources share one limit; each writes its messages to its own
// writers and the notice goes to the stdout of the stream that went over.
func TestLimiterStreamsShareTheLimitWithTheirOwnWriters(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := lograte.NewLimiter(10, 0, c.now)
	var appOut, appErr, healthOut, healthErr bytes.Buffer
	app := l.Streams(&appOut, &appErr)
	health := l.Streams(&healthOut, &healthErr)
	io.WriteString(app.Stdout, "1234\n")
	io.WriteString(app.Stderr, "abc\n")
	io.WriteString(health.Stderr, "wxyz\n") // 11 bytes of 10: over
	io.WriteString(app.Stdout, "q\n")       // the quiet second
	for name, tc := range map[string]struct {
		got  *bytes.Buffer
		want string
	}{
		"app stdout": {&appOut, "1234\n"}, "app stderr": {&appErr, "abc\n"},
		"health stdout": {&healthOut, "app instance exceeded log rate limit (10 bytes/sec)\n"}, "health stderr": {&healthErr, ""},
	} {
		if tc.got.String() != tc.want {
			t.Errorf("%s: %q, want %q", name, tc.got.String(), tc.want)
		}
	}
	if s := (*lograte.Limiter)(nil).Streams(&appOut, &appErr); s.Stdout != io.Writer(&appOut) || s.Stderr != io.Writer(&appErr) {
		t.Error("a nil Limiter's streams are not the writers themselves")
	}
}
