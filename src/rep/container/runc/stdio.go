package runc

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/diego-go/diego/src/rep/container"
)

// stdio carries a process's stdout and stderr through two FIFOs the rep
// makes in the container's /dev (a tmpfs of the container's own, reached
// through /proc/INIT/root) and reads from the host.
type stdio struct {
	hostPaths [2]string
	ctrPaths  [2]string
	readers   [2]*os.File
	holders   [2]*os.File // write ends the rep holds until the process has exited
	copied    sync.WaitGroup
}

// openStdio makes the FIFOs of process id and starts copying them to pio.
func (c *Container) openStdio(id string, pio container.ProcessIO) (s *stdio, err error) {
	s = &stdio{}
	defer func() {
		if err != nil {
			s.abort()
		}
	}()
	devDir := "/proc/" + strconv.Itoa(c.m.InitPid) + "/root/dev"
	outs := [2]io.Writer{pio.Stdout, pio.Stderr}
	for i := range 2 {
		name := ".diego-" + id + "." + strconv.Itoa(i+1)
		s.ctrPaths[i] = "/dev/" + name
		s.hostPaths[i] = devDir + "/" + name
		if err := syscall.Mkfifo(s.hostPaths[i], 0o622); err != nil {
			return nil, fmt.Errorf("making the output FIFO in the container's /dev: %w", err)
		}
		// O_NOFOLLOW: the container cannot swap in a symlink to the host.
		if s.readers[i], err = os.OpenFile(s.hostPaths[i], os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0); err != nil {
			return nil, err
		}
		if s.holders[i], err = os.OpenFile(s.hostPaths[i], os.O_WRONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0); err != nil {
			return nil, err
		}
		// Unprivileged users in the container must be able to open it.
		_ = os.Chmod(s.hostPaths[i], 0o622)
	}
	for i, r := range s.readers {
		w := outs[i]
		if w == nil {
			w = io.Discard
		}
		s.copied.Add(1)
		go func() {
			defer s.copied.Done()
			_, _ = io.Copy(w, r)
		}()
	}
	return s, nil
}

// finish is called once the process has exited: it lets go of the rep's
// write ends and waits for the output until every writer (background
// children too) closed the FIFOs, at most ioWaitDelay.
func (s *stdio) finish() {
	for _, h := range s.holders {
		h.Close()
	}
	done := make(chan struct{})
	go func() { s.copied.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(ioWaitDelay):
	}
	s.abort()
	<-done
}

// abort closes and removes everything (also unblocks the copies).
func (s *stdio) abort() {
	for i := range 2 {
		for _, f := range []*os.File{s.holders[i], s.readers[i]} {
			if f != nil {
				f.Close()
			}
		}
		if s.hostPaths[i] != "" {
			_ = os.Remove(s.hostPaths[i]) // gone already when the container stopped
		}
	}
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
