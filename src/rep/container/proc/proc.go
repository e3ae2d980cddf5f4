// Package proc keeps what the container backends know of a process they
// started: its id, its exit status once reaped, and whether a signal can
// still reach it.
package proc

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Process is the backend-independent half of a container.Process: ID and
// Wait. Embed it and add Signal.
type Process struct {
	id     string
	done   chan struct{}
	status int
	err    error
}

// New returns a running process with a random id.
func New() Process {
	return Process{id: RandomHex(8), done: make(chan struct{})}
}

// ID implements container.Process.
func (p *Process) ID() string { return p.id }

// Wait implements container.Process; it may be called many times.
func (p *Process) Wait() (int, error) {
	<-p.done
	return p.status, p.err
}

// Done is closed once the process was reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Reaped records how the process ended from its command's state and Wait
// error: its exit status, 128+signal when a signal killed it, or -1 and err
// when it never ran. Call Close once the backend's bookkeeping is done.
func (p *Process) Reaped(st *os.ProcessState, err error) {
	if st == nil {
		p.status, p.err = -1, err
		return
	}
	ws := st.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		p.status = 128 + int(ws.Signal())
	} else {
		p.status = ws.ExitStatus()
	}
}

// Close makes Wait return.
func (p *Process) Close() { close(p.done) }

// Signalable returns sig as a syscall signal, or an error when it is not
// one or the process has ended (os.ErrProcessDone).
func (p *Process) Signalable(sig os.Signal) (syscall.Signal, error) {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return 0, fmt.Errorf("container: unsupported signal %v", sig)
	}
	if p.Ended() {
		return 0, os.ErrProcessDone
	}
	return s, nil
}

// Ended reports whether the process was reaped.
func (p *Process) Ended() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// RandomHex returns n random bytes in hex (the clock's nanoseconds if the
// system has no randomness).
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	return hex.EncodeToString(b)
}
