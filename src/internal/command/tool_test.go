package command

import (
	"context"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestToolEndsContextOnSIGTERM: the tool's context ends when the process
// gets SIGTERM, which does not kill it.
func TestToolEndsContextOnSIGTERM(t *testing.T) {
	ended := false
	Tool("t", func(ctx context.Context, _ []string, _, _ io.Writer) error {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			ended = true
		case <-time.After(10 * time.Second):
		}
		return nil
	})
	if !ended {
		t.Error("SIGTERM did not end the tool's context within 10s")
	}
}
