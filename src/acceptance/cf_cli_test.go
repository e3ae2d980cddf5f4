package acceptance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/ccrecipe"
	"github.com/diego-go/diego/src/internal/testutil"
)

var (
	cliOnce sync.Once
	cliBin  string
	cliErr  error
)

// cli runs our operator CLI (bin/diego, the reference's cfdot commands)
// against the suite's BBS with the suite's client certificate and returns
// its stdout.
func (e *env) cli(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.cliRun(t, context.Background(), args...)
	if err != nil {
		t.Fatalf("diego %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (e *env) cliRun(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	cliOnce.Do(func() {
		if e.cluster != nil {
			cliBin = filepath.Join(e.cluster.bin, "diego")
			return
		}
		dir, err := os.MkdirTemp("", "acceptance-cli-")
		if err != nil {
			cliErr = err
			return
		}
		addTeardown(func(bool) { os.RemoveAll(dir) })
		cliBin, cliErr = filepath.Join(dir, "diego"), goBuild(nil, "-o", filepath.Join(dir, "diego"), "./src/cmd/diego")
	})
	if cliErr != nil {
		t.Fatalf("building the CLI: %v", cliErr)
	}
	flags := []string{"--bbs-url", e.cfg.BBSURL, "--bbs-ca-cert-file", e.cfg.CACert,
		"--bbs-cert-file", e.cfg.ClientCert, "--bbs-key-file", e.cfg.ClientKey}
	cmd := exec.CommandContext(ctx, cliBin, append(flags, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%w: %s", err, stderr.String())
	}
	return stdout.String(), err
}

// cliActualLRP is what the suite reads of an actual LRP the CLI prints
// (models.ActualLRP's oneof "OptionalRoutable" prints as an object that
// encoding/json cannot decode back, in the reference's cfdot as here).
type cliActualLRP struct {
	ProcessGuid  string `json:"process_guid"`
	Index        int32  `json:"index"`
	InstanceGuid string `json:"instance_guid"`
	CellID       string `json:"cell_id"`
	State        string `json:"state"`
}

// jsonLines decodes the CLI's JSON lines output into T.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var vs []T
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("decoding %q: %v", line, err)
		}
		vs = append(vs, v)
	}
	return vs
}

// testOperatorCLI drives the CLI's commands (those of the reference's
// cfdot) over a Cloud Controller-shaped app and task.
func testOperatorCLI(t *testing.T, e *env) {
	app := e.cfApp(t)
	lrp := app.DesiredLRP()
	spec, err := json.Marshal(lrp)
	if err != nil {
		t.Fatal(err)
	}
	e.cli(t, "create-desired-lrp", string(spec))
	t.Cleanup(func() { _ = e.client.RemoveDesiredLRP(e.logger, "", lrp.ProcessGuid) })
	running := e.waitRunning(t, lrp.ProcessGuid, 1, 2*time.Minute)[0]

	got := jsonLines[models.DesiredLRP](t, e.cli(t, "desired-lrp", lrp.ProcessGuid))
	if len(got) != 1 || got[0].ProcessGuid != lrp.ProcessGuid || !got[0].CachedDependencies[0].Equal(lrp.CachedDependencies[0]) ||
		!got[0].Action.Equal(lrp.Action) || !got[0].CertificateProperties.Equal(lrp.CertificateProperties) {
		t.Errorf("desired-lrp %s: %+v", lrp.ProcessGuid, got)
	}
	found := false
	for _, d := range jsonLines[models.DesiredLRP](t, e.cli(t, "desired-lrps", "-d", ccrecipe.AppLRPDomain)) {
		found = found || d.ProcessGuid == lrp.ProcessGuid
	}
	if !found {
		t.Errorf("desired-lrps -d %s does not list %s", ccrecipe.AppLRPDomain, lrp.ProcessGuid)
	}
	if out := e.cli(t, "desired-lrp-scheduling-infos", "-d", ccrecipe.AppLRPDomain); !strings.Contains(out, lrp.ProcessGuid) {
		t.Errorf("desired-lrp-scheduling-infos -d %s does not list %s", ccrecipe.AppLRPDomain, lrp.ProcessGuid)
	}

	actual := jsonLines[cliActualLRP](t, e.cli(t, "actual-lrps", "-p", lrp.ProcessGuid))
	if len(actual) != 1 || actual[0].InstanceGuid != running.InstanceGuid || actual[0].State != models.ActualLRPStateRunning {
		t.Errorf("actual-lrps -p %s: %+v", lrp.ProcessGuid, actual)
	}
	groups := jsonLines[struct {
		Instance   *cliActualLRP `json:"instance"`
		Evacuating *cliActualLRP `json:"evacuating"`
	}](t, e.cli(t, "actual-lrp-groups-for-guid", lrp.ProcessGuid))
	if len(groups) != 1 || groups[0].Instance == nil || groups[0].Instance.InstanceGuid != running.InstanceGuid {
		t.Errorf("actual-lrp-groups-for-guid %s: %+v", lrp.ProcessGuid, groups)
	}
	if out := e.cli(t, "actual-lrp-groups", "-d", ccrecipe.AppLRPDomain); !strings.Contains(out, running.InstanceGuid) {
		t.Errorf("actual-lrp-groups -d %s does not list instance %s", ccrecipe.AppLRPDomain, running.InstanceGuid)
	}

	// lrp-events while the app scales to 2: the desired LRP change arrives
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type streamed struct {
		out string
		err error
	}
	events := make(chan streamed, 1)
	go func() {
		out, err := e.cliRun(t, ctx, "lrp-events", "--count", "1")
		events <- streamed{out, err}
	}()
	var ev streamed
	testutil.Eventually(t, 30*time.Second, "the CLI scaling the app while lrp-events streams", func() (bool, string) {
		e.cli(t, "update-desired-lrp", lrp.ProcessGuid, `{"instances":2}`)
		select {
		case ev = <-events:
			return true, ""
		case <-time.After(time.Second):
			return false, "no event yet"
		}
	})
	if lines := jsonLines[struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}](t, ev.out); ev.err != nil || len(lines) != 1 || lines[0].Type == "" || len(lines[0].Data) == 0 {
		t.Errorf("lrp-events --count 1: %q, %v", ev.out, ev.err)
	}

	cells := jsonLines[models.CellPresence](t, e.cli(t, "cells"))
	ids := map[string]bool{}
	for _, c := range cells {
		ids[c.CellId] = true
	}
	if !ids[running.CellId] {
		t.Errorf("cells: %v lack %s", ids, running.CellId)
	}
	if c := jsonLines[models.CellPresence](t, e.cli(t, "cell", running.CellId)); len(c) != 1 || c[0].CellId != running.CellId {
		t.Errorf("cell %s: %+v", running.CellId, c)
	}
	if st := e.cli(t, "cell-state", running.CellId); !strings.Contains(st, running.InstanceGuid) {
		t.Errorf("cell-state %s does not show instance %s: %s", running.CellId, running.InstanceGuid, st)
	}
	if d := e.cli(t, "domains"); !strings.Contains(d, `"`+ccrecipe.AppLRPDomain+`"`) {
		t.Errorf("domains: %s", d)
	}

	// a long task of the app: listed by cell while running, cancelled,
	// completed without a cell, deleted
	g := uuid()
	def := app.Task("sleep", "sleep 300", "")
	task := &models.Task{TaskGuid: g, Domain: ccrecipe.TasksDomain, TaskDefinition: def}
	taskSpec, err := json.Marshal(task)
	if err != nil {
		t.Fatal(err)
	}
	e.cli(t, "create-task", string(taskSpec))
	t.Cleanup(func() { _ = e.client.DeleteTask(e.logger, "", g) })
	var cell string
	testutil.Eventually(t, 2*time.Minute, "task "+g+" RUNNING per the CLI", func() (bool, string) {
		ts := jsonLines[models.Task](t, e.cli(t, "task", g))
		if len(ts) == 1 {
			cell = ts[0].CellId
			return ts[0].State == models.Task_Running, ts[0].State.String()
		}
		return false, fmt.Sprint(ts)
	})
	if !strings.Contains(e.cli(t, "tasks", "-c", cell), g) || !strings.Contains(e.cli(t, "tasks", "-d", ccrecipe.TasksDomain), g) {
		t.Errorf("tasks -c %s / -d %s do not list %s", cell, ccrecipe.TasksDomain, g)
	}
	e.cli(t, "cancel-task", g)
	ts := jsonLines[models.Task](t, e.cli(t, "task", g))
	if len(ts) != 1 || ts[0].State != models.Task_Completed || !ts[0].Failed || ts[0].CellId != "" {
		t.Errorf("task %s after cancel-task: %+v, want COMPLETED, failed, no cell", g, ts)
	}
	if strings.Contains(e.cli(t, "tasks", "-c", cell), g) {
		t.Errorf("tasks -c %s lists the completed task %s", cell, g)
	}
	e.cli(t, "delete-task", g)
	if _, err := e.client.TaskByGuid(e.logger, "", g); errType(err) != models.Error_ResourceNotFound {
		t.Errorf("after delete-task: %v, want ResourceNotFound", err)
	}
	e.cli(t, "delete-desired-lrp", lrp.ProcessGuid)
	if _, err := e.client.DesiredLRPByProcessGuid(e.logger, "", lrp.ProcessGuid); errType(err) != models.Error_ResourceNotFound {
		t.Errorf("after delete-desired-lrp: %v, want ResourceNotFound", err)
	}
}
