// Package ctxsleep waits a while unless a context ends first.
package ctxsleep

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends (returning ctx's error). A d of zero or
// less returns at once, nil.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
