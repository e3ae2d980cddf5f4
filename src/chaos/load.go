package chaos

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// Load is a scenario's load: the writer, the task runner and the prober of
// its apps, sharing one write log.
type Load struct {
	Log     *WriteLog
	Writer  *Writer
	Tasks   *TaskRunner
	Prober  *Prober
	Started time.Time
	stopped bool
}

// StartLoad starts the writer and the task runner (guids starting with
// prefix) and probes apps.
func (r *Cluster) StartLoad(tb testing.TB, prefix string, apps ...string) *Load {
	tb.Helper()
	log := &WriteLog{}
	l := &Load{Log: log, Started: time.Now(),
		Writer: StartWriter(r.BBS, log, WriterConfig{Prefix: prefix}),
		Tasks:  StartTaskRunner(r.BBS, log, prefix, time.Second),
		Prober: StartProber(r.BBS, apps...)}
	tb.Cleanup(l.Stop)
	return l
}

// Stop stops every part of the load (once).
func (l *Load) Stop() {
	if l.stopped {
		return
	}
	l.stopped = true
	l.Writer.Stop()
	l.Tasks.Stop()
	l.Prober.Stop()
}

// Fault is when a scenario's fault began and was removed.
type Fault struct{ Start, End time.Time }

// Finish keeps the load running until a write is acknowledged after the
// fault ended (up to two minutes), stops it, audits the writes and waits
// for convergence (up to converge), then records the scenario's figures,
// extra ones added. It fails the test on an unacknowledged recovery, a
// lost or duplicated write, an untyped error, a hang or a cluster that
// does not converge.
func (r *Cluster) Finish(tb testing.TB, scenario string, l *Load, f Fault, converge time.Duration, extra map[string]string) {
	tb.Helper()
	r.FinishThen(tb, scenario, l, f, converge, extra, nil)
}

// FinishThen is Finish with figures that after computes once the cluster
// converged (e.g. how many instances were replaced), added to extra.
func (r *Cluster) FinishThen(tb testing.TB, scenario string, l *Load, f Fault, converge time.Duration, extra map[string]string, after func() map[string]string) {
	tb.Helper()
	var recovered time.Time
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if recovered = FirstAckAfter(l.Log.Ops(), f.End); !recovered.IsZero() {
			break
		}
	}
	// A few more seconds of load after recovery, so the figures show the
	// steady state came back.
	time.Sleep(3 * time.Second)
	l.Stop()
	if recovered.IsZero() {
		tb.Errorf("no write was acknowledged in the two minutes after the fault ended")
	}
	l.Tasks.Reap()
	completed, failedTasks := l.Tasks.Completed()
	ops := l.Log.Ops()
	audit := r.AuditWrites(tb, ops, completed)
	r.WaitConverged(tb, converge)
	converged := time.Since(f.End)
	sum := Summarize(ops)
	if sum.Untyped > 0 {
		var msgs []string
		for _, op := range ops {
			if !op.Acked && !op.Typed && len(msgs) < 5 {
				msgs = append(msgs, op.Kind+" "+op.Guid+": "+op.Err)
			}
		}
		tb.Errorf("%d writes failed with an error that is neither a BBS error nor a network error, e.g.\n%s", sum.Untyped, strings.Join(msgs, "\n"))
	}
	if sum.MaxLatency > 3*RequestTimeout+5*time.Second {
		tb.Errorf("a write took %s: a hang (the client's request timeout is %s, three attempts)", sum.MaxLatency, RequestTimeout)
	}
	if panics := PanicsIn(r.LogDir()); len(panics) > 0 {
		tb.Errorf("panics in the component logs:\n%s", strings.Join(panics, "\n"))
	}
	probes := l.Prober.Stats(l.Started, time.Time{})
	if failed := l.Prober.Failures(); len(failed) > 0 {
		tb.Logf("the first failed probes:\n%s", strings.Join(failed, "\n"))
	}
	figs := map[string]string{
		FigDowntime:         fmt.Sprintf("%d s", probes.DownSeconds),
		FigAPIDown:          "0 s",
		FigErrors:           describeErrors(ops),
		FigAcked:            fmt.Sprint(sum.Acked),
		FigLost:             fmt.Sprint(len(audit.Lost)),
		FigConverged:        fmtDur(converged),
		FigRecover:          "–",
		"probes failed":     fmt.Sprintf("%d of %d", probes.Failed, probes.OK+probes.Failed),
		"tasks completed":   fmt.Sprintf("%d (%d failed%s)", len(completed), failedTasks, reasons(l.Tasks.FailureReasons())),
		"max write latency": fmt.Sprintf("%s (%s)", fmtDur(sum.MaxLatency), sum.Slowest.Kind),
	}
	if sum.Failed > 0 {
		figs[FigAPIDown] = fmtDur(sum.LastFailure.Sub(sum.FirstFailure))
	}
	if !recovered.IsZero() {
		figs[FigRecover] = fmtDur(recovered.Sub(f.End))
	}
	for k, v := range extra {
		figs[k] = v
	}
	if after != nil {
		for k, v := range after() {
			figs[k] = v
		}
	}
	Record(tb, scenario, figs)
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	// Reasons naming a path differ only by it: group them by the text
	// before the path and the error after it.
	grouped := map[string]int{}
	for r, n := range m {
		if i, j := strings.IndexByte(r, '/'), strings.LastIndex(r, ": "); i >= 0 && j > i {
			r = r[:i] + "…" + r[j:]
		}
		grouped[r] += n
	}
	var parts []string
	for r, n := range grouped {
		parts = append(parts, fmt.Sprintf("%d× %q", n, r))
	}
	sort.Strings(parts)
	return ": " + strings.Join(parts, ", ")
}
