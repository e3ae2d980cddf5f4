package lograte_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/diego-go/diego/src/rep/lograte"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBytesPerSecondDropsWithNoticeThenRecovers(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var out bytes.Buffer
	w := lograte.New(&out, 10, 0, c.now)
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
	w := lograte.New(&out, lograte.Unlimited, 2, c.now)
	io.WriteString(w, "a\nb\nc\n")
	want := "a\nb\napp instance exceeded log rate limit (2 log-lines/sec) set by platform operator\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func TestZeroDropsEverythingAndUnlimitedIsTheWriter(t *testing.T) {
	var out bytes.Buffer
	w := lograte.New(&out, 0, 0, nil)
	if n, err := io.WriteString(w, "hello\n"); n != 6 || err != nil || out.Len() != 0 {
		t.Errorf("limit 0: wrote %d, %v, output %q; want everything dropped silently", n, err, out.String())
	}
	if w := lograte.New(&out, lograte.Unlimited, 0, nil); w != io.Writer(&out) {
		t.Errorf("without limits New returned %T, want the writer itself", w)
	}
}
