package testutil

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Second, "the third call", func() (bool, string) { n++; return n == 3, fmt.Sprint(n) })
	if n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
	ft := &fakeTB{TB: t}
	Eventually(ft, 120*time.Millisecond, "never", func() (bool, string) { return false, "still no" })
	if want := "timed out after 120ms waiting for never; last: still no"; ft.msg != want {
		t.Errorf("failure %q, want %q", ft.msg, want)
	}
}

func TestWaitFor(t *testing.T) {
	n := 0
	WaitFor(t, time.Second, "the second call", func() bool { n++; return n == 2 })
	if n != 2 {
		t.Errorf("cond called %d times, want 2", n)
	}
	ft := &fakeTB{TB: t}
	WaitFor(ft, 20*time.Millisecond, "never", func() bool { return false })
	if want := "timed out after 20ms waiting for never; last: not yet"; ft.msg != want {
		t.Errorf("failure %q, want %q", ft.msg, want)
	}
}

func TestFreeAddr(t *testing.T) {
	addr := FreeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	ln.Close()
}

type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); fmt.Fprint(&b, "x") }()
	}
	wg.Wait()
	if b.String() != "xxxxxxxx" {
		t.Errorf("got %q", b.String())
	}
}
