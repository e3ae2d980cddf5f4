package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
)

// Write kinds.
const (
	DesireLRP = "desire-lrp"
	UpdateLRP = "update-lrp"
	RemoveLRP = "remove-lrp"
	DesireTsk = "desire-task"
)

// WriteOp is one write the load made and what the BBS answered.
type WriteOp struct {
	At      time.Time
	Kind    string
	Guid    string
	Version int // the annotation "v<Version>" a desire or update sets
	Acked   bool
	Err     string // empty when acknowledged
	Class   string // what kind of failure: a BBS error type, "timeout", "connection refused", ...
	Typed   bool   // the error was a BBS *models.Error or a network error a client can act on
	Latency time.Duration
}

// WriteLog records writes; the writer and the task runner share one.
type WriteLog struct {
	mu  sync.Mutex
	ops []WriteOp
}

// Ops is a copy of every write recorded so far.
func (l *WriteLog) Ops() []WriteOp {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]WriteOp(nil), l.ops...)
}

// record runs write and appends its outcome.
func (l *WriteLog) record(kind, guid string, version int, write func() error) WriteOp {
	start := time.Now()
	err := write()
	op := WriteOp{At: start, Kind: kind, Guid: guid, Version: version, Acked: err == nil, Latency: time.Since(start)}
	if err != nil {
		op.Err = err.Error()
		op.Class, op.Typed = classify(err)
	}
	l.mu.Lock()
	l.ops = append(l.ops, op)
	l.mu.Unlock()
	return op
}

// classify names the kind of a failed write and whether a client can act
// on it: a BBS error (models.Error, by type) or a network failure
// (timeout, refused, reset, closed). Anything else is untyped.
func classify(err error) (string, bool) {
	var me *models.Error
	if errors.As(err, &me) {
		return "BBS " + me.Type.String(), true
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset", true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed", true
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "timeout", true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "network: " + oe.Op, true
	}
	return "untyped", false
}

// Summary counts a log's writes.
type Summary struct {
	Writes, Acked, Failed, Untyped int
	MaxLatency                     time.Duration
	Slowest                        WriteOp
	// FirstFailure and LastFailure bound the failed writes (zero without).
	FirstFailure, LastFailure time.Time
}

// Summarize counts ops.
func Summarize(ops []WriteOp) Summary {
	var s Summary
	for _, op := range ops {
		s.Writes++
		if op.Latency > s.MaxLatency {
			s.MaxLatency, s.Slowest = op.Latency, op
		}
		if op.Acked {
			s.Acked++
			continue
		}
		s.Failed++
		if !op.Typed {
			s.Untyped++
		}
		if s.FirstFailure.IsZero() {
			s.FirstFailure = op.At
		}
		s.LastFailure = op.At.Add(op.Latency)
	}
	return s
}

// FirstAckAfter is when the first write started after t was acknowledged
// (zero when none was).
func FirstAckAfter(ops []WriteOp, t time.Time) time.Time {
	for _, op := range ops {
		if op.Acked && !op.At.Before(t) {
			return op.At.Add(op.Latency)
		}
	}
	return time.Time{}
}

// WriterConfig shapes the writer's load.
type WriterConfig struct {
	// Prefix starts every process guid the writer desires (unique per
	// scenario).
	Prefix string
	// Interval is the pause between writes (default 250 ms).
	Interval time.Duration
	// MaxLRPs is how many of its LRPs exist at once (default 6).
	MaxLRPs int
	// Instances each of its LRPs runs (default 1).
	Instances int32
}

// Writer desires, updates and removes LRPs through the BBS client, one
// write at a time, recording each. It touches an LRP again only after its
// previous write was acknowledged: an LRP whose write failed is left alone,
// so its final state is one of two the audit accepts.
type Writer struct {
	Log    *WriteLog
	cl     bbs.Client
	cfg    WriterConfig
	cancel context.CancelFunc
	done   chan struct{}
}

// Domain is the BBS domain of every LRP and task the harness desires.
const Domain = "chaos"

// StartWriter starts writing until Stop.
func StartWriter(cl bbs.Client, log *WriteLog, cfg WriterConfig) *Writer {
	if cfg.Interval == 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.MaxLRPs == 0 {
		cfg.MaxLRPs = 6
	}
	if cfg.Instances == 0 {
		cfg.Instances = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer{Log: log, cl: cl, cfg: cfg, cancel: cancel, done: make(chan struct{})}
	go w.run(ctx)
	return w
}

// Stop stops the writer after its write in flight.
func (w *Writer) Stop() {
	w.cancel()
	<-w.done
}

func (w *Writer) run(ctx context.Context) {
	defer close(w.done)
	type live struct {
		guid    string
		version int
	}
	var lrps []live
	n := 0
	for step := 0; ctx.Err() == nil; step++ {
		switch {
		case len(lrps) < w.cfg.MaxLRPs && step%3 != 2:
			n++
			g := fmt.Sprintf("%s-lrp-%d", w.cfg.Prefix, n)
			op := w.Log.record(DesireLRP, g, 0, func() error { return w.cl.DesireLRP(lg, "", App(g, w.cfg.Instances, 0)) })
			if op.Acked {
				lrps = append(lrps, live{g, 0})
			}
		case len(lrps) > 0 && step%3 == 2 && len(lrps) >= w.cfg.MaxLRPs/2:
			l := lrps[0]
			lrps = lrps[1:]
			w.Log.record(RemoveLRP, l.guid, l.version, func() error { return w.cl.RemoveDesiredLRP(lg, "", l.guid) })
		case len(lrps) > 0:
			i := step % len(lrps)
			v := lrps[i].version + 1
			a := annotation(v)
			op := w.Log.record(UpdateLRP, lrps[i].guid, v, func() error {
				return w.cl.UpdateDesiredLRP(lg, "", lrps[i].guid, &models.DesiredLRPUpdate{OptionalAnnotation: &models.DesiredLRPUpdate_Annotation{Annotation: a}})
			})
			if op.Acked {
				lrps[i].version = v
			} else {
				lrps = append(lrps[:i], lrps[i+1:]...)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(w.cfg.Interval):
		}
	}
}

func annotation(v int) string { return fmt.Sprintf("v%d", v) }

// App is an LRP running sample-app (from BinDir) with instances instances
// in Domain, its annotation "v<version>", health-checked on port 8080.
func App(guid string, instances int32, version int) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: guid, Domain: Domain, RootFs: "preloaded:cflinuxfs4", Instances: instances,
		MemoryMb: 32, DiskMb: 32, Ports: []uint32{8080}, LogGuid: guid, Annotation: annotation(version),
		MetricTags:           map[string]*models.MetricTagValue{"source_id": {Static: guid}},
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		Action:               models.WrapAction(&models.RunAction{Path: filepath.Join(BinDir, "sample-app"), User: "vcap"}),
		CheckDefinition:      &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}},
		StartTimeoutMs:       60000,
	}
}
