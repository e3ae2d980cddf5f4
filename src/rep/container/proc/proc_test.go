package proc

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

func TestReaped(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{{"exit 3", 3}, {"kill -9 $$", 128 + 9}} {
		cmd := exec.Command("/bin/sh", "-c", tc.script)
		p := New()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if s, err := p.Signalable(syscall.SIGTERM); err != nil || s != syscall.SIGTERM {
			t.Fatalf("before the end: %v, %v", s, err)
		}
		p.Reaped(cmd.ProcessState, cmd.Wait())
		p.Reaped(cmd.ProcessState, nil)
		p.Close()
		if st, err := p.Wait(); st != tc.want || err != nil {
			t.Errorf("%s: Wait = %d, %v; want %d", tc.script, st, err, tc.want)
		}
		if _, err := p.Signalable(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("after the end: %v", err)
		}
	}
	p := New()
	p.Reaped(nil, os.ErrNotExist)
	p.Close()
	if st, err := p.Wait(); st != -1 || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("never ran: %d, %v", st, err)
	}
	q := New()
	if _, err := q.Signalable(fakeSignal{}); err == nil || errors.Is(err, os.ErrProcessDone) {
		t.Errorf("a signal that is not a syscall.Signal: %v", err)
	}
}

type fakeSignal struct{}

func (fakeSignal) String() string { return "fake" }
func (fakeSignal) Signal()        {}
