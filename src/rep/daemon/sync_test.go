package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/process"
	"github.com/diego-go/diego/src/rep/reptest"
)

func (f *cellFixture) actual(t *testing.T, processGuid string) []*models.ActualLRP {
	t.Helper()
	lrps, err := f.h.Client.ActualLRPs(f.h.Log, "", models.ActualLRPFilter{ProcessGuid: processGuid})
	if err != nil {
		t.Fatalf("listing actual LRPs: %v", err)
	}
	return lrps
}

func (f *cellFixture) waitRunning(t *testing.T, processGuid, instanceGuid string) *models.ActualLRP {
	t.Helper()
	var running *models.ActualLRP
	eventually(t, instanceGuid+" to be RUNNING", func() (bool, string) {
		for _, l := range f.actual(t, processGuid) {
			if l.InstanceGuid == instanceGuid && l.State == models.ActualLRPStateRunning {
				running = l
				return true, ""
			}
		}
		return false, fmt.Sprint(f.actual(t, processGuid))
	})
	return running
}

func sleeper(pg string) *models.DesiredLRP { return reptest.Sleeper(pg, "test") }

// TestBulkSync: one pass removes an actual LRP and fails a task the BBS
// has on this cell without a container, destroys a container nothing owns,
// and abandons an instance the BBS no longer places here.
func TestBulkSync(t *testing.T) {
	var backend *process.Backend
	f := addCell(t, newBBS(t), "cell-sync", func(c *Settings, o *Options) {
		c.SyncInterval = Duration(time.Hour) // passes run only when the test says
		var err error
		if backend, err = process.New(process.Config{RootDir: c.ContainerRootDir,
			Settings: host.Settings{MemoryMB: 1024, DiskMB: 1024, MaxContainers: 10}}); err != nil {
			t.Fatal(err)
		}
		o.Backend = backend
	})
	ctx := t.Context()
	// Let the start-up pass finish first.
	time.Sleep(200 * time.Millisecond)

	// An instance running here.
	f.desireAndPlace(t, sleeper("pg-kept"), "ig-kept")
	f.waitRunning(t, "pg-kept", "ig-kept")

	// A ghost: claimed by this cell in the BBS, no container.
	if err := f.h.Client.DesireLRP(f.h.Log, "", sleeper("pg-ghost")); err != nil {
		t.Fatal(err)
	}
	ghostKey := f.actual(t, "pg-ghost")[0].ActualLRPKey
	ghostIKey := models.NewActualLRPInstanceKey("ig-ghost", f.cfg.CellID)
	if err := f.h.Client.ClaimActualLRP(f.h.Log, "", &ghostKey, &ghostIKey); err != nil {
		t.Fatal(err)
	}
	// A task RUNNING here in the BBS, no container.
	if err := f.h.Client.DesireTask(f.h.Log, "", "task-ghost", "test", taskDef("true", "")); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.h.Client.StartTask(f.h.Log, "", "task-ghost", f.cfg.CellID); err != nil || !ok {
		t.Fatalf("starting ghost task: %v %v", ok, err)
	}
	// A container nothing owns.
	if _, err := backend.Create(ctx, container.Spec{Handle: "orphan", RootFS: "preloaded:cflinuxfs4"}); err != nil {
		t.Fatal(err)
	}
	// An instance the BBS stops placing here behind the cell's back.
	f.desireAndPlace(t, sleeper("pg-gone"), "ig-gone")
	gone := f.waitRunning(t, "pg-gone", "ig-gone")
	if err := f.h.Client.RemoveActualLRP(f.h.Log, "", &gone.ActualLRPKey, &gone.ActualLRPInstanceKey); err != nil {
		t.Fatal(err)
	}

	st, err := f.d.SyncOnce(ctx)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if st.Removed != 1 || st.Failed != 1 || st.Destroyed != 1 || st.Abandoned != 1 {
		t.Fatalf("sync stats: %+v", st)
	}
	for _, l := range f.actual(t, "pg-ghost") {
		if l.InstanceGuid == "ig-ghost" {
			t.Fatalf("ghost still in the BBS: %s", l)
		}
	}
	task, err := f.h.Client.TaskByGuid(f.h.Log, "", "task-ghost")
	if err != nil || task.State != models.Task_Completed || !task.Failed || task.FailureReason != TaskContainerMissing {
		t.Fatalf("ghost task: %v %v", task, err)
	}
	if _, err := backend.Lookup(ctx, "orphan"); !errors.Is(err, container.ErrNotFound) {
		t.Fatalf("orphan container: %v", err)
	}
	eventually(t, "the abandoned instance's container to be destroyed", func() (bool, string) {
		_, err := backend.Lookup(ctx, "ig-gone")
		return errors.Is(err, container.ErrNotFound), fmt.Sprint(err)
	})
	time.Sleep(200 * time.Millisecond)
	for _, l := range f.actual(t, "pg-gone") {
		if l.InstanceGuid == "ig-gone" {
			t.Fatalf("the abandoned instance was reported to the BBS: %s", l)
		}
	}
	// The kept instance is untouched, and a second pass changes nothing.
	f.waitRunning(t, "pg-kept", "ig-kept")
	st, err = f.d.SyncOnce(ctx)
	if err != nil || st.Removed+st.Failed+st.Destroyed+st.Abandoned != 0 {
		t.Fatalf("second pass: %+v %v", st, err)
	}
}

// TestReadinessSetsRoutable: an instance with a readiness check is RUNNING
// but not routable until the check passes.
func TestReadinessSetsRoutable(t *testing.T) {
	helper := helperBin("httpserver")
	f := newCell(t)
	desired := &models.DesiredLRP{
		ProcessGuid: "pg-ready", Domain: "test", RootFs: "preloaded:cflinuxfs4", Instances: 1,
		MemoryMb: 32, DiskMb: 32, Ports: []uint32{8080}, LogGuid: "log",
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: "pg-ready"}},
		EnvironmentVariables: []*models.EnvironmentVariable{
			{Name: "PORT", Value: "8080"}, {Name: "READY_AFTER", Value: "2500ms"},
		},
		Action: models.WrapAction(&models.RunAction{Path: helper, User: "vcap"}),
		CheckDefinition: &models.CheckDefinition{
			Checks:          []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}},
			ReadinessChecks: []*models.Check{{HttpCheck: &models.HTTPCheck{Port: 8080, Path: "/ready"}}},
		},
		StartTimeoutMs: 20000,
	}
	f.desireAndPlace(t, desired, "ig-ready")
	running := f.waitRunning(t, "pg-ready", "ig-ready")
	if running.GetRoutable() {
		t.Fatalf("routable before the readiness check passed: %s", running)
	}
	eventually(t, "the instance to become routable", func() (bool, string) {
		l := f.actual(t, "pg-ready")
		return len(l) == 1 && l[0].GetRoutable(), fmt.Sprint(l)
	})
}

// TestMonitorAction: without a check definition, the desired LRP's monitor
// action decides health; a failing one crashes the instance.
func TestMonitorAction(t *testing.T) {
	f := newCell(t)
	ok := sleeper("pg-mon-ok")
	ok.Monitor = models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "exit 0"}, User: "vcap"})
	f.desireAndPlace(t, ok, "ig-mon-ok")
	f.waitRunning(t, "pg-mon-ok", "ig-mon-ok")

	bad := sleeper("pg-mon-bad")
	bad.Monitor = models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "exit 1"}, User: "vcap"})
	bad.StartTimeoutMs = 1000
	f.desireAndPlace(t, bad, "ig-mon-bad")
	eventually(t, "the unhealthy instance to crash", func() (bool, string) {
		l := f.actual(t, "pg-mon-bad")
		return len(l) == 1 && l[0].CrashCount > 0 && strings.Contains(l[0].CrashReason, "never healthy"), fmt.Sprint(l)
	})
}

// TestContainerMetrics: GET /container_metrics over mutual TLS reports the
// running instance's and task's containers with their quotas.
func TestContainerMetrics(t *testing.T) {
	f := newCell(t)
	f.desireAndPlace(t, sleeper("pg-metrics"), "ig-metrics")
	f.waitRunning(t, "pg-metrics", "ig-metrics")
	f.placeTask(t, "task-metrics", taskDef("sleep 30", ""))
	f.waitTask(t, "task-metrics", models.Task_Running)

	tlsCfg, err := pki.ClientTLSConfig(f.h.Certs.CACert, f.h.Certs.ClientCert, f.h.Certs.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 10 * time.Second}
	var got rep.ContainerMetricsCollection
	eventually(t, "metrics of both containers", func() (bool, string) {
		resp, err := client.Get(f.d.RepURL() + "/container_metrics")
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Sprintf("%d %s", resp.StatusCode, body)
		}
		got = rep.ContainerMetricsCollection{}
		if err := json.Unmarshal(body, &got); err != nil {
			return false, err.Error()
		}
		return len(got.LRPs) == 1 && len(got.Tasks) == 1 && got.LRPs[0].MemoryUsageBytes > 0, string(body)
	})
	l := got.LRPs[0]
	if got.CellID != f.cfg.CellID || l.InstanceGUID != "ig-metrics" || l.ProcessGUID != "pg-metrics" ||
		l.MetricGUID != "pg-metrics" || l.MemoryQuotaBytes != 32<<20 {
		t.Fatalf("LRP metrics: %+v", got)
	}
	if got.Tasks[0].TaskGUID != "task-metrics" {
		t.Fatalf("task metrics: %+v", got.Tasks)
	}
	_ = f.h.Client.CancelTask(f.h.Log, "", "task-metrics")
}

// TestRestartRecovery: a rep started on the container directory of a rep
// that died with running instances kills their processes, and its first
// bulk sync removes their records from the BBS. The extracted lifecycle
// its instance mounted stays in the cache for the next instance (no GET,
// no extraction); other directories in the extracted area are removed.
func TestRestartRecovery(t *testing.T) {
	h := newBBS(t)
	dir := filepath.Join(t.TempDir(), "containers")
	var backend1 *process.Backend
	f1 := addCell(t, h, "cell-restart", func(c *Settings, o *Options) {
		c.ContainerRootDir = dir
		var err error
		if backend1, err = process.New(process.Config{RootDir: dir,
			Settings: host.Settings{MemoryMB: 1024, DiskMB: 1024, MaxContainers: 10}}); err != nil {
			t.Fatal(err)
		}
		o.Backend = backend1
	})
	a := newAppAssets(t, "#!/bin/sh\nexec sleep 600\n")
	f1.desireAndPlace(t, a.desired("pg-restart"), "ig-restart")
	f1.waitRunning(t, "pg-restart", "ig-restart")
	extracted := filepath.Join(f1.d.cfg.CachePath, "extracted")
	lifecycle, _ := filepath.Glob(filepath.Join(extracted, "*"))
	stray := filepath.Join(extracted, "dir-interrupted")
	if err := os.Mkdir(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := backend1.Lookup(t.Context(), "ig-restart")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := c.Metrics(t.Context()); err != nil || m.ProcessCount == 0 {
		t.Fatalf("instance processes: %+v %v", m, err)
	}
	// The rep "dies": its API and presence go away, its containers stay,
	// and it says nothing more to the BBS (its client now points nowhere).
	dead, err := bbs.NewClient("https://127.0.0.1:1", f1.cfg.BBSCAFile, f1.cfg.BBSClientCertFile, f1.cfg.BBSClientKeyFile, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	f1.d.bbs = dead
	f1.d.cancel()
	_ = f1.d.repSrv.Close()
	_ = f1.d.localSrv.Close()
	f1.d.bg.Wait()
	f1.d.closeAll()

	f2 := addCell(t, h, "cell-restart", func(c *Settings, o *Options) { c.ContainerRootDir = dir })
	eventually(t, "the dead rep's instance to leave the BBS", func() (bool, string) {
		for _, l := range f2.actual(t, "pg-restart") {
			if l.InstanceGuid == "ig-restart" {
				return false, l.String()
			}
		}
		return true, ""
	})
	if m, err := c.Metrics(context.Background()); err == nil && m.ProcessCount > 0 {
		t.Fatalf("the dead rep's instance still has %d processes", m.ProcessCount)
	}
	f2.desireAndPlace(t, a.desired("pg-restart-2"), "ig-restart-2")
	f2.waitRunning(t, "pg-restart-2", "ig-restart-2")
	if now, _ := filepath.Glob(filepath.Join(extracted, "*")); len(lifecycle) != 1 || !slices.Equal(now, lifecycle) {
		t.Errorf("extracted area %v after the restart, want the lifecycle's %v alone", now, lifecycle)
	}
	if n := a.srv.fullGets("/lifecycle.tgz"); n != 1 {
		t.Errorf("lifecycle downloaded %d times, want once (kept across the restart)", n)
	}
}

// TestRetire: retiring an actual LRP through the BBS reaches the cell (the
// BBS calls the rep's stop endpoint), which stops and removes the instance.
func TestRetire(t *testing.T) {
	f := newCell(t)
	f.desireAndPlace(t, sleeper("pg-retire"), "ig-retire")
	running := f.waitRunning(t, "pg-retire", "ig-retire")
	if err := f.h.Client.RetireActualLRP(f.h.Log, "", &running.ActualLRPKey); err != nil {
		t.Fatalf("retiring: %v", err)
	}
	eventually(t, "the retired instance to leave the BBS and the cell", func() (bool, string) {
		for _, l := range f.actual(t, "pg-retire") {
			if l.InstanceGuid == "ig-retire" {
				return false, l.String()
			}
		}
		cs, _ := f.d.backend.Containers(t.Context())
		return len(cs) == 0, fmt.Sprintf("%d containers", len(cs))
	})
}

// TestPrometheusMetrics: with metrics_address, GET /metrics shows the
// running instance and the capacity it takes.
func TestPrometheusMetrics(t *testing.T) {
	f := addCell(t, newBBS(t), "cell-prom", func(c *Settings, _ *Options) { c.MetricsAddress = "127.0.0.1:0" })
	if f.d.MetricsAddr() == "" {
		t.Fatal("no metrics listener")
	}
	f.desireAndPlace(t, sleeper("pg-prom"), "ig-prom")
	f.waitRunning(t, "pg-prom", "ig-prom")
	eventually(t, "the running instance in /metrics", func() (bool, string) {
		resp, err := http.Get("http://" + f.d.MetricsAddr() + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s := string(body)
		return resp.StatusCode == http.StatusOK &&
			strings.Contains(s, `diego_rep_work{cell_id="cell-prom",kind="lrp",phase="running",zone="z1"} 1`+"\n") &&
			strings.Contains(s, `diego_rep_memory_mb{cell_id="cell-prom",kind="total",zone="z1"} 1024`+"\n") &&
			strings.Contains(s, `diego_rep_evacuating{cell_id="cell-prom",zone="z1"} 0`+"\n"), s
	})
}
