package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/cluster"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/target"
)

// Cluster is a `diego up` cluster a scenario runs (cluster.Up and Run in
// this process), with a BBS client configured from its target file.
type Cluster struct {
	C   *cluster.Cluster
	Dir string
	// Out is the supervisor's progress (exits and restarts are there).
	Out *testutil.SyncBuffer
	BBS bbs.InternalClient

	cancel context.CancelFunc
	done   chan struct{}
}

// Up starts a cluster with opts (Dir defaults to a test temporary
// directory, BinDir to BinDir, PortBase to a free range) and stops it when
// the test ends.
func Up(tb testing.TB, opts cluster.Options) *Cluster {
	tb.Helper()
	return UpWith(tb, opts, NewBBSClient)
}

// UpWith is Up with the BBS client made by newClient (e.g. one that
// follows the leader of an HA cluster's BBSs).
func UpWith(tb testing.TB, opts cluster.Options, newClient func(target.File) (bbs.InternalClient, error)) *Cluster {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	if opts.BinDir == "" {
		opts.BinDir = BinDir
	}
	out := &testutil.SyncBuffer{}
	opts.Out = out
	ctx, cancel := context.WithCancel(context.Background())
	var c *cluster.Cluster
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		o := opts
		if o.PortBase == 0 {
			o.PortBase = 20000 + 100*rand.IntN(300)
		}
		if c, err = cluster.Up(ctx, o); err == nil || opts.PortBase != 0 || !strings.Contains(err.Error(), "is taken") {
			break
		}
	}
	if err != nil {
		cancel()
		tb.Fatalf("diego up: %v\n%s", err, out)
	}
	r := &Cluster{C: c, Dir: opts.Dir, Out: out, cancel: cancel, done: make(chan struct{})}
	go func() {
		c.Run(ctx)
		close(r.done)
	}()
	tb.Cleanup(func() {
		r.Stop()
		if tb.Failed() {
			keepLogs(tb, r.LogDir())
		}
	})
	if r.BBS, err = newClient(c.Target()); err != nil {
		tb.Fatal(err)
	}
	if err := r.BBS.UpsertDomain(lg, "", Domain, 0); err != nil {
		tb.Fatalf("upserting domain %s: %v", Domain, err)
	}
	return r
}

// Stop stops the cluster (once).
func (r *Cluster) Stop() {
	r.cancel()
	<-r.done
}

// Target is the cluster's target file as it is now (pids change on
// restarts).
func (r *Cluster) Target() target.File { return r.C.Target() }

// LogDir holds the components' logs.
func (r *Cluster) LogDir() string { return filepath.Join(r.Dir, "logs") }

// Restarts counts how often the supervisor restarted the component name
// ("bbs", "locket", "auctioneer") after it exited.
func (r *Cluster) Restarts(name string) int {
	return strings.Count(r.Out.String(), "] "+name+" exited; restarted")
}

// CellPID is the pid of the rep of cellID (0 when unknown).
func (r *Cluster) CellPID(cellID string) int {
	for _, c := range r.Target().Cells {
		if c.CellID == cellID {
			return c.PID
		}
	}
	return 0
}

// DesireApp desires an app of instances instances and waits until they
// all answer HTTP.
func (r *Cluster) DesireApp(tb testing.TB, guid string, instances int32) {
	tb.Helper()
	if err := r.BBS.DesireLRP(lg, "", App(guid, instances, 0)); err != nil {
		tb.Fatalf("desiring %s: %v", guid, err)
	}
	testutil.Eventually(tb, 2*time.Minute, guid+" RUNNING", func() (bool, string) {
		problems, err := CheckConverged(r.Target(), r.BBS)
		if err != nil {
			return false, err.Error()
		}
		return len(problems) == 0, strings.Join(problems, "; ")
	})
}

// WaitConverged waits (up to within) until CheckConverged finds nothing and
// returns how long that took; the test fails with the last problems when
// it does not happen.
func (r *Cluster) WaitConverged(tb testing.TB, within time.Duration) time.Duration {
	tb.Helper()
	start := time.Now()
	testutil.Eventually(tb, within, "the cluster to converge (every process at its instances, no duplicate, no orphan)", func() (bool, string) {
		problems, err := CheckConverged(r.Target(), r.BBS)
		if err != nil {
			return false, err.Error()
		}
		return len(problems) == 0, strings.Join(problems, "; ")
	})
	return time.Since(start)
}

// AuditWrites checks the recorded writes (retrying reads while the BBS
// does not answer, up to a minute) and fails the test on a lost,
// duplicated or inconsistent write.
func (r *Cluster) AuditWrites(tb testing.TB, ops []WriteOp, completed map[string]bool) WriteAudit {
	tb.Helper()
	var a WriteAudit
	var err error
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		if a, err = CheckWrites(r.BBS, ops, completed); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		tb.Fatalf("auditing writes: %v", err)
	}
	if !a.OK() {
		tb.Errorf("write audit: %s", a)
	}
	return a
}

// ErrNoWrites is returned when a load recorded nothing.
var ErrNoWrites = errors.New("the load recorded no writes")

// describeErrors counts failed writes by class.
func describeErrors(ops []WriteOp) string {
	counts := map[string]int{}
	total := 0
	for _, op := range ops {
		if !op.Acked {
			counts[op.Class]++
			total++
		}
	}
	if total == 0 {
		return "0"
	}
	var parts []string
	for m, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, m))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

// LogCount counts the lines of component's log (e.g. "bbs", "rep-cell-1")
// that contain substr.
func (r *Cluster) LogCount(component, substr string) int {
	b, err := os.ReadFile(filepath.Join(r.LogDir(), component+".log"))
	if err != nil {
		return 0
	}
	return strings.Count(string(b), substr)
}

// Counts snapshots LogCount of each component for substr, so a scenario
// can report what happened during it.
func (r *Cluster) Counts(substr string, components ...string) map[string]int {
	out := map[string]int{}
	for _, c := range components {
		out[c] = r.LogCount(c, substr)
	}
	return out
}

// Since describes the growth of counts since before, e.g. "bbs 2, auctioneer 1"
// ("0" when none grew).
func Since(before, now map[string]int) string {
	var parts []string
	keys := make([]string, 0, len(now))
	for k := range now {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if d := now[k] - before[k]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, d))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}

// Instances maps each index of app to the guid of its RUNNING instance.
func (r *Cluster) Instances(tb testing.TB, app string) map[int32]string {
	tb.Helper()
	var lrps []*models.ActualLRP
	var err error
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		if lrps, err = r.BBS.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: app}); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		tb.Fatalf("listing %s's instances: %v", app, err)
	}
	out := map[int32]string{}
	for _, l := range lrps {
		if l.State == models.ActualLRPStateRunning {
			out[l.Index] = l.InstanceGuid
		}
	}
	return out
}

// Replaced counts the indices whose RUNNING instance in now is not the one
// in before (a restart, or a move to another cell).
func Replaced(before, now map[int32]string) int {
	n := 0
	for idx, g := range before {
		if now[idx] != g {
			n++
		}
	}
	return n
}

func readLog(c *Cluster, component string) string {
	b, _ := os.ReadFile(filepath.Join(c.LogDir(), component+".log"))
	return string(b)
}

// keepLogs copies a failed test's component logs out of its temporary
// directory (to $TMPDIR/chaos-logs/<test>) and says where.
func keepLogs(tb testing.TB, dir string) {
	dst := filepath.Join(os.TempDir(), "chaos-logs", strings.ReplaceAll(tb.Name(), "/", "_"))
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if err := os.MkdirAll(dst, 0o755); err != nil || len(files) == 0 {
		return
	}
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			_ = os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644)
		}
	}
	tb.Logf("the components' logs are kept in %s", dst)
}
