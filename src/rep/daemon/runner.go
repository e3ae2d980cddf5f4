package daemon

// The runner: what the LRP instance and task runners share.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/actions"
	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/lograte"
)

// cleanupTimeout bounds the BBS calls and container destruction after an
// instance ends.
const cleanupTimeout = 30 * time.Second

// Container properties that tell the bulk sync what a container is for.
const (
	propKind = "diego-go.kind"
	kindLRP  = "lrp"
	kindTask = "task"
)

// onReserved starts every accepted LRP instance and task.
func (d *Daemon) onReserved(_ context.Context, work rep.Work) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, lrp := range work.LRPs {
		if d.stoppingInstances || d.evacuating {
			_, _ = d.ledger.Release(cell.KindLRP, lrp.InstanceGUID)
			continue
		}
		ctx, cancel := context.WithCancel(d.ctx)
		inst := &instance{
			lrp:    lrp,
			ikey:   models.NewActualLRPInstanceKey(lrp.InstanceGUID, d.cfg.CellID),
			ctx:    ctx,
			cancel: cancel,
			done:   make(chan struct{}),
		}
		d.instances[lrp.InstanceGUID] = inst
		d.instWG.Add(1)
		go d.run(inst)
	}
	for _, t := range work.Tasks {
		if d.stoppingInstances || d.evacuating {
			_, _ = d.ledger.Release(cell.KindTask, t.TaskGuid)
			continue
		}
		d.startTaskLocked(t)
	}
}

// forget releases the reservation of the instance or task guid and drops
// its run.
func (d *Daemon) forget(kind cell.Kind, guid string, log *slog.Logger) {
	if _, err := d.ledger.Release(kind, guid); err != nil && !errors.Is(err, cell.ErrNotFound) {
		log.Warn("releasing reservation", "error", err)
	}
	d.mu.Lock()
	if kind == cell.KindLRP {
		delete(d.instances, guid)
	} else {
		delete(d.tasks, guid)
	}
	d.mu.Unlock()
}

// destroyContainer destroys the container of an instance or task whose run
// ended; one that was created says so in its log, as the executor's
// container node does when it is destroyed.
func (d *Daemon) destroyContainer(guid string, cl *containerLog, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), cleanupTimeout)
	defer cancel()
	said := cl != nil && cl.created.Load()
	if said {
		cl.cellf(false, "Cell %s stopping instance %s", d.cfg.CellID, guid)
		cl.cellf(false, "Cell %s destroying container for instance %s", d.cfg.CellID, guid)
	}
	if err := d.backend.Destroy(ctx, guid); err != nil && !errors.Is(err, container.ErrNotFound) {
		log.Error("destroying container", "error", err)
		if said {
			cl.cellf(false, "Cell %s failed to destroy container for instance %s", d.cfg.CellID, guid)
		}
		d.removeCredDir(guid, log)
		return // its cached dependencies stay held, as in the reference
	}
	if said {
		cl.cellf(false, "Cell %s successfully destroyed container for instance %s", d.cfg.CellID, guid)
	}
	d.removeCredDir(guid, log)
	d.dependencies.release(guid)
}

// containerOutput returns where a container's output goes: Options.
// ContainerOutput and, with a container_log_dir, DIR/group/name.log. Close
// the file with the returned func.
func (d *Daemon) containerOutput(group, name string) (io.Writer, func()) {
	var ws []io.Writer
	if d.opts.ContainerOutput != nil {
		ws = append(ws, d.opts.ContainerOutput)
	}
	closeFn := func() {}
	if d.cfg.ContainerLogDir != "" {
		dir := filepath.Join(d.cfg.ContainerLogDir, filepath.Base(group))
		f, err := func() (*os.File, error) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			return os.OpenFile(filepath.Join(dir, filepath.Base(name)+".log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		}()
		if err != nil {
			d.log.Warn("opening the container log; output is not kept", "dir", dir, "error", err)
		} else {
			ws = append(ws, &lockedWriter{w: f})
			closeFn = func() { _ = f.Close() }
		}
	}
	switch len(ws) {
	case 0:
		return io.Discard, closeFn
	case 1:
		return ws[0], closeFn
	}
	return io.MultiWriter(ws...), closeFn
}

// lockedWriter serialises writes from a container's stdout and stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// outputSpec names a container's output: where it is kept (group/name, see
// containerOutput), its log_rate_limit, and what tags its Loggregator
// envelopes carry.
type outputSpec struct {
	group, name  string
	limit        *models.LogRateLimit
	handle       string
	metricTags   map[string]*models.MetricTagValue
	logGuid      string
	index        int32
	instanceGuid string
	source       string
}

// containerLog is a container's output as every runner sets it up: kept as
// containerOutput says and, when an agent is configured, sent to
// Loggregator, both behind the one rate limit (limitLogs) the container's
// log sources share, so the limited output and the limiter's notices are
// what reaches each. Deps carries the streams and the transfers; Out is the
// stdout for the rep's messages about the container's run (health). The
// rep's own CELL messages (cellf) bypass the limit, as the executor's do.
// A nil containerLog (no task definition) logs nothing.
type containerLog struct {
	Deps actions.Deps
	Out  io.Writer

	d         *Daemon
	handle    string
	source    string
	file      io.Writer
	closeFile func()
	limiter   *lograte.Limiter
	app       *appLogs // nil without an agent
	created   atomic.Bool
	mu        sync.Mutex
	opened    []lograte.Streams
}

// appOutput sets up a container's output. Call close when the container is
// gone: it flushes partial lines and closes the log file.
func (d *Daemon) appOutput(o outputSpec) *containerLog {
	file, closeFile := d.containerOutput(o.group, o.name)
	c := &containerLog{
		d: d, handle: o.handle, source: o.source, file: &lockedWriter{w: file}, closeFile: closeFile,
		limiter: d.limitLogs(o.limit), app: d.withLoggregator(o),
	}
	stdout, stderr := c.streams(o.source)
	var sourced func(string) (io.Writer, io.Writer)
	if c.app != nil {
		sourced = c.streams
	}
	c.Deps = d.transferDeps(actions.Deps{Stdout: stdout, Stderr: stderr, LogSource: o.source, Sourced: sourced})
	c.Out = stdout
	return c
}

// streams are the stdout and stderr of one log source: to the file and to
// Loggregator tagged with sourceType, under the container's limit.
func (c *containerLog) streams(sourceType string) (stdout, stderr io.Writer) {
	stdout, stderr = c.file, c.file
	if c.app != nil {
		out, errw := c.app.writers(sourceType)
		stdout, stderr = io.MultiWriter(c.file, out), io.MultiWriter(c.file, errw)
	}
	s := c.limiter.Streams(stdout, stderr)
	c.mu.Lock()
	c.opened = append(c.opened, s)
	c.mu.Unlock()
	return s.Stdout, s.Stderr
}

// cellf writes one of the rep's own messages about the container (the
// executor's "Cell CELL_ID creating container for instance GUID" and the
// rest) to the file and to Loggregator with the container's log_source;
// stderr makes it an ERR envelope.
func (c *containerLog) cellf(stderr bool, format string, args ...any) {
	if c == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	_, _ = io.WriteString(c.file, msg+"\n")
	if c.app != nil {
		c.app.line(c.source, msg, stderr)
	}
}

// create creates the container, saying so as the executor does.
func (c *containerLog) create(ctx context.Context, spec container.Spec) (container.Container, error) {
	cellID := c.d.cfg.CellID
	c.cellf(false, "Cell %s creating container for instance %s", cellID, c.handle)
	ctr, err := c.d.backend.Create(ctx, spec)
	if err != nil {
		c.cellf(true, "Cell %s failed to create container for instance %s: %s", cellID, c.handle, err)
		return nil, err
	}
	c.cellf(false, "Cell %s successfully created container for instance %s", cellID, c.handle)
	c.created.Store(true)
	return ctr, nil
}

// close flushes what the streams hold and closes the file.
func (c *containerLog) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	for _, s := range c.opened {
		s.Flush()
	}
	c.mu.Unlock()
	c.app.flush()
	c.closeFile()
}
