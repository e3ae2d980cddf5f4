package daemon

// The runner: what the LRP instance and task runners share.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/actions"
	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/container"
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
// ended.
func (d *Daemon) destroyContainer(guid string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), cleanupTimeout)
	defer cancel()
	if err := d.backend.Destroy(ctx, guid); err != nil && !errors.Is(err, container.ErrNotFound) {
		log.Error("destroying container", "error", err)
		d.removeCredDir(guid, log)
		return // its cached dependencies stay held, as in the reference
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

// appOutput sets up a container's output as every runner does: kept as
// containerOutput says, under the rate limit (limitLogs), and beside that
// to Loggregator when an agent is configured (withLoggregator). deps
// carries the streams and the transfers; out is the stdout for the rep's
// own messages about the container. Call done when the container is gone:
// it flushes partial lines and closes the log file.
func (d *Daemon) appOutput(o outputSpec) (deps actions.Deps, out io.Writer, done func()) {
	file, closeFile := d.containerOutput(o.group, o.name)
	logs := d.limitLogs(file, o.limit)
	app := d.withLoggregator(&logs, o.handle, o.metricTags, o.logGuid, o.index, o.instanceGuid, o.source)
	deps = d.transferDeps(actions.Deps{Stdout: logs.Stdout, Stderr: logs.Stderr, LogSource: o.source, Sourced: app.sourced()})
	return deps, logs.Stdout, func() {
		app.flush()
		logs.Flush()
		closeFile()
	}
}
