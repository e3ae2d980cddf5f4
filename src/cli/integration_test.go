package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
	repdaemon "github.com/diego-go/diego/src/rep/daemon"
	"github.com/diego-go/diego/src/rep/reptest"
	"github.com/diego-go/diego/src/target"
)

// cluster is a real BBS with embedded Locket and a target file for it.
type cluster struct {
	t      *testing.T
	h      *reptest.BBS
	target string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	h := reptest.StartBBS(t)
	path := testutil.WriteJSON(t, "target.json", target.File{BBSURL: h.URL, LocketAddress: h.Daemon.LocketAddr(),
		CACert: h.Certs.CACert, ClientCert: h.Certs.ClientCert, ClientKey: h.Certs.ClientKey,
		LogDir: filepath.Join(t.TempDir(), "logs")})
	return &cluster{t: t, h: h, target: path}
}

// run runs the CLI in-process against the cluster.
func (c *cluster) run(args ...string) (string, string, error) {
	return c.runCtx(context.Background(), args...)
}

func (c *cluster) runCtx(ctx context.Context, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := Run(ctx, append([]string{"--target", c.target}, args...), &out, &errOut)
	return out.String(), errOut.String(), err
}

// ok runs the CLI and fails the test on error.
func (c *cluster) ok(args ...string) string {
	c.t.Helper()
	out, stderr, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("diego %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// jsonLines is what the reference tool prints for values.
func jsonLines[T any](t *testing.T, values []T) string {
	t.Helper()
	var b strings.Builder
	for _, v := range values {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func same(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s:\n got: %s\nwant: %s", what, got, want)
	}
}

const lrpSpec = `{"process_guid":"pg-1","domain":"d1","rootfs":"preloaded:cflinuxfs4","instances":2,
 "memory_mb":64,"disk_mb":64,"ports":[8080],"metric_tags":{"source_id":{"static":"s"}},
 "action":{"run":{"path":"/bin/true","user":"vcap"}}}`

func TestIntegration(t *testing.T) {
	c := newCluster(t)
	t.Run("desired and actual LRPs", func(t *testing.T) { c.t = t; testLRPs(c) })
	t.Run("tasks", func(t *testing.T) { c.t = t; testTasks(c) })
	t.Run("domains", func(t *testing.T) { c.t = t; testDomains(c) })
	t.Run("locket", func(t *testing.T) { c.t = t; testLocket(c) })
	t.Run("events", func(t *testing.T) { c.t = t; testEvents(c) })
	t.Run("cells", func(t *testing.T) { c.t = t; testCells(c) })
	t.Run("run", func(t *testing.T) { c.t = t; testRun(c) })
	t.Run("errors", func(t *testing.T) { c.t = t; testErrors(c) })
}

func testLRPs(c *cluster) {
	t := c.t
	c.ok("create-desired-lrp", lrpSpec)
	spec := filepath.Join(t.TempDir(), "lrp.json")
	os.WriteFile(spec, []byte(strings.Replace(lrpSpec, "pg-1", "pg-2", 1)), 0o600)
	c.ok("create-desired-lrp", "@"+spec)

	desired, err := c.h.Client.DesiredLRPs(c.h.Log, "", models.DesiredLRPFilter{})
	if err != nil || len(desired) != 2 {
		t.Fatalf("desired: %v %v", desired, err)
	}
	same(t, "desired-lrps", c.ok("desired-lrps"), jsonLines(t, desired))
	same(t, "desired-lrps --domain", c.ok("desired-lrps", "--domain", "nope"), "")
	one, _ := c.h.Client.DesiredLRPByProcessGuid(c.h.Log, "", "pg-1")
	same(t, "desired-lrp", c.ok("desired-lrp", "pg-1"), jsonLines(t, []*models.DesiredLRP{one}))

	c.ok("update-desired-lrp", "pg-1", `{"instances":3}`)
	if one, _ = c.h.Client.DesiredLRPByProcessGuid(c.h.Log, "", "pg-1"); one.Instances != 3 {
		t.Fatalf("instances after update: %d", one.Instances)
	}

	all, _ := c.h.Client.ActualLRPs(c.h.Log, "", models.ActualLRPFilter{})
	if len(all) != 5 {
		t.Fatalf("actual LRPs: %d", len(all))
	}
	same(t, "actual-lrps", c.ok("actual-lrps"), jsonLines(t, all))
	idx := int32(1)
	filtered, _ := c.h.Client.ActualLRPs(c.h.Log, "", models.ActualLRPFilter{ProcessGuid: "pg-1", Index: &idx})
	if len(filtered) != 1 {
		t.Fatalf("filtered: %v", filtered)
	}
	// Flags after positional-free commands and short forms both work.
	same(t, "actual-lrps -p -i", c.ok("actual-lrps", "-p", "pg-1", "-i", "1"), jsonLines(t, filtered))
	same(t, "actual-lrps --domain --cell-id", c.ok("actual-lrps", "--domain", "d1", "--cell-id", "none"), "")

	table := c.ok("-o", "table", "actual-lrps", "--process-guid", "pg-2")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "PROCESS_GUID") || !strings.Contains(lines[1], "UNCLAIMED") {
		t.Fatalf("table:\n%s", table)
	}

	c.ok("retire-actual-lrp", "pg-2", "1")
	c.ok("delete-desired-lrp", "pg-2")
	_, stderr, err := c.run("desired-lrp", "pg-2")
	var me *models.Error
	if !errors.As(err, &me) || me.Type != models.Error_ResourceNotFound {
		t.Fatalf("want ResourceNotFound, got %v", err)
	}
	if !strings.HasPrefix(stderr, "error: ResourceNotFound: ") || ExitCode(err) != 1 {
		t.Fatalf("stderr %q, exit %d", stderr, ExitCode(err))
	}
}

func testTasks(c *cluster) {
	t := c.t
	spec := `{"task_guid":"t-1","domain":"d1","rootfs":"preloaded:cflinuxfs4","memory_mb":16,"disk_mb":16,
	  "action":{"run":{"path":"/bin/true","user":"vcap"}}}`
	c.ok("create-task", spec)
	list, _ := c.h.Client.Tasks(c.h.Log, "")
	same(t, "tasks", c.ok("tasks"), jsonLines(t, list))
	same(t, "tasks --domain", c.ok("tasks", "-d", "other"), "")
	got, _ := c.h.Client.TaskByGuid(c.h.Log, "", "t-1")
	same(t, "task", c.ok("task", "t-1"), jsonLines(t, []*models.Task{got}))

	c.ok("cancel-task", "t-1")
	if got, _ = c.h.Client.TaskByGuid(c.h.Log, "", "t-1"); got.State != models.Task_Completed || !got.Failed {
		t.Fatalf("cancelled task: %v failed=%v", got.State, got.Failed)
	}
	if table := c.ok("task", "t-1", "-o", "table"); !strings.Contains(table, "Completed") {
		t.Fatalf("table: %s", table)
	}
	c.ok("delete-task", "t-1")
	if _, err := c.h.Client.TaskByGuid(c.h.Log, "", "t-1"); err == nil {
		t.Fatal("task still there after delete-task")
	}
}

func testDomains(c *cluster) {
	t := c.t
	c.ok("set-domain", "fresh-forever")
	c.ok("set-domain", "fresh-briefly", "--ttl", "60")
	list, _ := c.h.Client.Domains(c.h.Log, "")
	out := c.ok("domains")
	for _, d := range []string{"fresh-forever", "fresh-briefly"} {
		if !strings.Contains(out, `"`+d+`"`+"\n") {
			t.Fatalf("domains %q missing %s (client: %v)", out, d, list)
		}
	}
	if n := strings.Count(out, "\n"); n != len(list) {
		t.Fatalf("domains: %d lines, %d domains", n, len(list))
	}
}

func testLocket(c *cluster) {
	t := c.t
	c.ok("claim-lock", "--key", "k1", "--owner", "me", "--value", "v", "--ttl", "30")
	c.ok("claim-presence", "-k", "p1", "--owner", "me", "-t", "30")
	locks := c.ok("locks")
	if !strings.Contains(locks, `"key":"k1"`) || !strings.Contains(locks, `"owner":"me"`) || strings.Contains(locks, `"p1"`) {
		t.Fatalf("locks: %s", locks)
	}
	pres := c.ok("presences")
	if !strings.Contains(pres, `"key":"p1"`) || strings.Contains(pres, `"k1"`) {
		t.Fatalf("presences: %s", pres)
	}
	// Someone else cannot take the lock.
	if _, stderr, err := c.run("claim-lock", "--key", "k1", "--owner", "other", "--ttl", "30"); err == nil {
		t.Fatal("claim by another owner succeeded")
	} else if !strings.HasPrefix(stderr, "error: claiming lock k1: ") {
		t.Fatalf("stderr: %q", stderr)
	}
	c.ok("release-lock", "--key", "k1", "--owner", "me")
	if locks = c.ok("locks"); strings.Contains(locks, `"k1"`) {
		t.Fatalf("released lock still listed: %s", locks)
	}
	if _, _, err := c.run("claim-lock", "--key", "k1", "--owner", "me"); ExitCode(err) != 2 {
		t.Fatalf("claim-lock without --ttl: %v", err)
	}
}

func testEvents(c *cluster) {
	t := c.t
	for _, tc := range []struct {
		cmd, trigger string
		args         []string
	}{
		{"lrp-events", "desired_lrp_created", []string{"create-desired-lrp", strings.Replace(lrpSpec, "pg-1", "pg-ev", 1)}},
		{"task-events", "task_created", []string{"create-task", `{"task_guid":"t-ev","domain":"d1","rootfs":"preloaded:cflinuxfs4","action":{"run":{"path":"/bin/true","user":"vcap"}}}`}},
	} {
		got := firstEvents(t, c, 1, []string{tc.cmd}, func(i int) {
			args := append([]string(nil), tc.args...)
			args[1] = strings.ReplaceAll(args[1], "-ev", "-ev"+string(rune('a'+i)))
			c.ok(args...)
		})
		if got[0] != tc.trigger {
			t.Fatalf("%s: %v", tc.cmd, got)
		}
	}
	// Cancelling the context ends a stream cleanly.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, _, err := c.runCtx(ctx, "task-events"); err != nil {
		t.Fatalf("cancelled task-events: %v", err)
	}
}

func testCells(c *cluster) {
	t := c.t
	same(t, "cells", c.ok("cells"), "")
	same(t, "cell-states", c.ok("cell-states"), "")
	_, stderr, err := c.run("cell", "no-such-cell")
	if !strings.HasPrefix(stderr, "error: ResourceNotFound: ") || err == nil {
		t.Fatalf("cell: %q %v", stderr, err)
	}
}

func testRun(c *cluster) {
	t := c.t
	pollInterval = 50 * time.Millisecond
	_, stderr, err := c.run("run", "web", "--instances", "2", "--port", "8080", "--domain", "apps",
		"--env", "A=b", "--timeout", "1s", "--", "./server", "--flag")
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") ||
		!strings.Contains(err.Error(), "0/2 RUNNING; missing: #0 UNCLAIMED, #1 UNCLAIMED") {
		t.Fatalf("run: %v\nstderr: %s", err, stderr)
	}
	if !strings.Contains(stderr, "0/2 RUNNING (2 UNCLAIMED)") {
		t.Fatalf("progress: %s", stderr)
	}
	lrp, err := c.h.Client.DesiredLRPByProcessGuid(c.h.Log, "", "web")
	if err != nil {
		t.Fatal(err)
	}
	run := lrp.Action.RunAction
	if lrp.Instances != 2 || run.Path != "./server" || len(run.Args) != 1 || lrp.Ports[0] != 8080 ||
		lrp.CheckDefinition.Checks[0].TcpCheck.Port != 8080 || len(lrp.EnvironmentVariables) != 2 {
		t.Fatalf("desired: %+v", lrp)
	}
	domains, _ := c.h.Client.Domains(c.h.Log, "")
	if !strings.Contains(strings.Join(domains, ","), "apps") {
		t.Fatalf("domain not created: %v", domains)
	}
	if _, stderr, err := c.run("run", "web2", "--no-wait", "--", "sleep 100"); err != nil {
		t.Fatalf("run --no-wait: %v %s", err, stderr)
	}
}

func testErrors(c *cluster) {
	t := c.t
	_, stderr, err := c.run("create-desired-lrp", "{not json")
	if ExitCode(err) != 2 || !strings.Contains(stderr, "invalid JSON") || !strings.Contains(stderr, "usage: diego create-desired-lrp") {
		t.Fatalf("bad JSON: %v\n%s", err, stderr)
	}
	_, stderr, err = c.run("create-desired-lrp", `{"process_guid":"x"}`)
	var me *models.Error
	if !errors.As(err, &me) || me.Type != models.Error_InvalidRequest || !strings.HasPrefix(stderr, "error: InvalidRequest: ") {
		t.Fatalf("invalid LRP: %v %q", err, stderr)
	}
	_, stderr, err = c.run("update-desired-lrp", "missing", `{"instances":1}`)
	if !errors.As(err, &me) || me.Type != models.Error_ResourceNotFound {
		t.Fatalf("update missing: %v %q", err, stderr)
	}
	if _, _, err := c.run("task", "missing-task"); !errors.As(err, &me) || me.Type != models.Error_ResourceNotFound {
		t.Fatalf("task missing: %v", err)
	}
	if _, _, err := c.run("retire-actual-lrp", "pg-1", "x"); ExitCode(err) != 2 {
		t.Fatalf("bad index: %v", err)
	}
	out, _, err := c.run("logs", "nothing-here")
	if err == nil || !strings.Contains(err.Error(), "no logs") || out != "" {
		t.Fatalf("logs: %v", err)
	}
}

// TestRunUntilRunning plays a cell through the internal client (claim,
// crash, start) and checks that run reports progress and crash reasons and
// succeeds once every instance is RUNNING.
func TestRunUntilRunning(t *testing.T) {
	c := newCluster(t)
	pollInterval = 20 * time.Millisecond
	go func() {
		var lrps []*models.ActualLRP
		for deadline := time.Now().Add(5 * time.Second); len(lrps) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			lrps, _ = c.h.Client.ActualLRPs(c.h.Log, "", models.ActualLRPFilter{ProcessGuid: "app"})
		}
		net := models.NewActualLRPNetInfo("10.0.0.1", "", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(61000, 8080))
		for _, l := range lrps {
			ik := models.NewActualLRPInstanceKey("ig-"+string(rune('0'+l.Index)), "cell-1")
			c.h.Client.ClaimActualLRP(c.h.Log, "", &l.ActualLRPKey, &ik)
			if l.Index == 1 {
				c.h.Client.CrashActualLRP(c.h.Log, "", &l.ActualLRPKey, &ik, "boom")
				time.Sleep(200 * time.Millisecond)
				c.h.Client.ClaimActualLRP(c.h.Log, "", &l.ActualLRPKey, &ik)
			}
			c.h.Client.StartActualLRP(c.h.Log, "", &l.ActualLRPKey, &ik, &net, nil, nil, true, "z1")
			time.Sleep(100 * time.Millisecond)
		}
	}()
	out, stderr, err := c.run("run", "app", "-i", "2", "--port", "8080", "--timeout", "10s", "--", "sleep 1000")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	for _, want := range []string{"0/2 RUNNING", "1/2 RUNNING", "#1 crashed 1 time(s): boom", "2/2 RUNNING"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("progress lacks %q:\n%s", want, stderr)
		}
	}
	lrps, _ := c.h.Client.ActualLRPs(c.h.Log, "", models.ActualLRPFilter{ProcessGuid: "app"})
	same(t, "run output", out, jsonLines(t, lrps))
}

// TestCellsWithRep registers a real rep cell and reads it back through the
// BBS (cells, cell) and through the rep (cell-state, cell-states).
func TestCellsWithRep(t *testing.T) {
	c := newCluster(t)
	cfg := repdaemon.Joining("cell-1", "z1", c.h.URL, c.h.Daemon.LocketAddr(), c.h.Certs)
	cfg.SyncInterval = repdaemon.Duration(time.Second)
	cfg.ListenAddress, cfg.LocalAddress = "127.0.0.1:0", "127.0.0.1:0"
	cfg.ContainerRootDir = filepath.Join(t.TempDir(), "containers")
	cfg.MemoryMB, cfg.DiskMB, cfg.MaxContainers = 1024, 2048, 10
	cfg.RootFSProviders = []string{"preloaded:cflinuxfs4"}
	d, err := repdaemon.Start(context.Background(), cfg, repdaemon.Options{ContainerOutput: io.Discard})
	if err != nil {
		t.Fatalf("starting rep: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	var cells []*models.CellPresence
	for deadline := time.Now().Add(10 * time.Second); len(cells) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the cell never registered")
		}
		cells, _ = c.h.Client.Cells(c.h.Log, "")
	}
	same(t, "cells", c.ok("cells"), jsonLines(t, cells))
	same(t, "cell", c.ok("cell", "cell-1"), jsonLines(t, cells))
	if table := c.ok("cells", "-o", "table"); !strings.Contains(table, "cell-1") || !strings.Contains(table, "1024") {
		t.Fatalf("cells table: %s", table)
	}
	if presences := c.ok("presences"); !strings.Contains(presences, `"key":"cell-1"`) {
		t.Fatalf("presences: %s", presences)
	}
	var state struct {
		CellID         string `json:"cell_id"`
		Zone           string
		TotalResources struct{ MemoryMB int32 }
	}
	out := c.ok("cell-state", "cell-1")
	if err := json.Unmarshal([]byte(out), &state); err != nil || state.CellID != "cell-1" || state.Zone != "z1" || state.TotalResources.MemoryMB != 1024 {
		t.Fatalf("cell-state: %s (%v)", out, err)
	}
	if all := c.ok("cell-states"); all != out {
		t.Fatalf("cell-states %q, cell-state %q", all, out)
	}
	if table := c.ok("cell-states", "-o", "table"); !strings.Contains(table, "1024/1024") {
		t.Fatalf("cell-states table: %s", table)
	}
}
