package host

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

func TestStop(t *testing.T) {
	var sent []syscall.Signal
	var killed, aborted int
	gone := false
	signal := func(s syscall.Signal) { sent = append(sent, s); gone = s == syscall.SIGTERM }
	err := Stop(t.Context(), false, time.Hour, signal, func() bool { return gone }, func() { killed++ }, func() { aborted++ })
	if err != nil || len(sent) != 1 || sent[0] != syscall.SIGTERM || killed+aborted != 0 {
		t.Errorf("graceful: %v %v killed=%d aborted=%d", err, sent, killed, aborted)
	}

	// Ignoring SIGTERM: killed after the grace period.
	sent, gone = nil, false
	ignore := func(s syscall.Signal) { sent = append(sent, s) }
	err = Stop(t.Context(), false, time.Millisecond, ignore, func() bool { return gone }, func() { killed++; gone = true }, func() { aborted++ })
	if err != nil || killed != 1 || aborted != 0 {
		t.Errorf("after grace: %v killed=%d aborted=%d", err, killed, aborted)
	}

	// kill sends SIGKILL first; an ended ctx aborts.
	sent, gone, killed = nil, false, 0
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = Stop(ctx, true, time.Hour, ignore, func() bool { return false }, func() { killed++ }, func() { aborted++ })
	if !errors.Is(err, context.Canceled) || len(sent) != 1 || sent[0] != syscall.SIGKILL || aborted != 1 || killed != 0 {
		t.Errorf("cancelled: %v %v killed=%d aborted=%d", err, sent, killed, aborted)
	}
}
