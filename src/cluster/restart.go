package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/diego-go/diego/src/wallclock"
)

// RestartCell drains cell cellID as a BOSH deploy does (POST /evacuate to
// its rep's local API: its running instances are replaced elsewhere before
// it exits), then starts its rep again. It returns once the new rep
// process runs; it registers with the BBS shortly after. Only a running
// cluster (Run) can restart a cell. A skewed cell (SkewCell) stays skewed.
func (c *Cluster) RestartCell(ctx context.Context, cellID string) error {
	return c.restartCell(ctx, cellID, func(*child) {})
}

// SkewCell restarts cell cellID as RestartCell does with its wall clock
// moved by offset (wallclock.EnvOffset; 0 puts it right again): a cell
// that came up before its clock was synchronised. Certificates and the
// timestamps it publishes follow its clock; its timers do not.
func (c *Cluster) SkewCell(ctx context.Context, cellID string, offset time.Duration) error {
	var env []string
	if offset != 0 {
		env = []string{wallclock.EnvOffset + "=" + offset.String()}
	}
	return c.restartCell(ctx, cellID, func(ch *child) { ch.env = env })
}

// restartCell is RestartCell; change (called with the child locked) alters
// how it is started again.
func (c *Cluster) restartCell(ctx context.Context, cellID string, change func(*child)) error {
	i := -1
	for j := range c.reps {
		if c.l.cellID(j) == cellID {
			i = j
		}
	}
	if i < 0 {
		return fmt.Errorf("no cell %s", cellID)
	}
	c.runMu.Lock()
	defer c.runMu.Unlock()
	if c.runCtx == nil || c.runCtx.Err() != nil {
		return errors.New("the cluster is not running: RestartCell needs Run")
	}
	ch := c.reps[i]
	ch.mu.Lock()
	ch.stopping = true // its exit is expected: not reaped, not reported
	supervised, exited := ch.supervised, ch.exited
	ch.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.l.localAddr(i)+"/evacuate", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ch.stop(40 * time.Second)
		return fmt.Errorf("asking %s to evacuate: %w (stopped it instead)", cellID, err)
	}
	resp.Body.Close()
	select {
	case <-exited:
	case <-ctx.Done():
		ch.stop(10 * time.Second)
	}
	<-supervised
	if c.runCtx.Err() != nil {
		return errors.New("the cluster stopped while the cell evacuated")
	}
	ch.mu.Lock()
	ch.stopping = false
	change(ch)
	ch.mu.Unlock()
	if err := ch.start(); err != nil {
		return err
	}
	c.superviseChild(ch)
	c.progress("%s evacuated and restarted (pid %d)", ch.name, ch.pid())
	return c.writeTarget()
}
