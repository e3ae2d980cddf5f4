package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/target"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cluster-bin-")
	if err != nil {
		panic(err)
	}
	components := exec.Command("go", "build", "-o", dir+"/", "../cmd/bbs", "../cmd/locket", "../cmd/auctioneer", "../cmd/rep")
	app := exec.Command("go", "build", "-o", dir+"/", "../cmd/sample-app")
	app.Env = append(os.Environ(), "CGO_ENABLED=0") // static, as it runs in a busybox rootfs on runc
	for _, cmd := range []*exec.Cmd{components, app} {
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %v: %v\n%s", cmd.Args, err, out)
			os.Exit(1)
		}
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type running struct {
	c      *Cluster
	cancel context.CancelFunc
	done   chan struct{}
	out    *testutil.SyncBuffer
}

func (r *running) stop() {
	r.cancel()
	<-r.done
}

func up(tb testing.TB, dir string, cells, portBase int) *running {
	tb.Helper()
	out := &testutil.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Up(ctx, Options{Dir: dir, Cells: cells, PortBase: portBase, BinDir: binDir, Out: out})
	if err != nil {
		cancel()
		tb.Fatalf("up: %v\n%s", err, out)
	}
	r := &running{c: c, cancel: cancel, done: make(chan struct{}), out: out}
	go func() {
		c.Run(ctx)
		close(r.done)
	}()
	tb.Cleanup(r.stop)
	return r
}

func clientFor(tb testing.TB, t target.File) bbs.Client {
	cl, err := bbs.NewClient(t.BBSURL, t.CACert, t.ClientCert, t.ClientKey, 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return cl
}

var eventually = testutil.Eventually

func sampleApp(pg string, instances int32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: pg, Domain: "cluster-test", RootFs: "preloaded:" + RootFSName, Instances: instances,
		MemoryMb: 32, DiskMb: 32, Ports: []uint32{8080}, LogGuid: pg,
		MetricTags:           map[string]*models.MetricTagValue{"source_id": {Static: pg}},
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		Action:               models.WrapAction(&models.RunAction{Path: filepath.Join(binDir, "sample-app"), User: "vcap"}),
		CheckDefinition:      &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}},
		StartTimeoutMs:       60000,
	}
}

// answering returns how many of pg's instances are RUNNING and answer
// HTTP with their own index.
func answering(cl bbs.Client, pg string) (int, string) {
	lrps, err := cl.ActualLRPs(lager.NewLogger("t"), "", models.ActualLRPFilter{ProcessGuid: pg})
	if err != nil {
		return 0, err.Error()
	}
	n := 0
	var last string
	for _, l := range lrps {
		if l.State != models.ActualLRPStateRunning || len(l.Ports) == 0 {
			continue
		}
		resp, err := http.Get(fmt.Sprintf("http://%s:%d/", l.Address, l.Ports[0].HostPort))
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.HasPrefix(string(body), "hello from "+strconv.Itoa(int(l.Index))+" ") {
			n++
		} else {
			last = string(body)
		}
	}
	return n, fmt.Sprintf("%d of %d answering; last: %s", n, len(lrps), last)
}

// TestUp: a two-cell cluster starts, writes a target that works, runs an
// app, restarts a BBS that exits, leaves a killed rep down (re-placing its
// instance and killing its app process), stops cleanly and resumes with
// its data.
func TestUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	r := up(t, dir, 2, 9400)
	tgt, err := target.Load(target.Path(dir))
	if err != nil {
		t.Fatalf("target: %v\n%s", err, r.out)
	}
	if tgt.BBSURL != "https://127.0.0.1:9400" || tgt.LocketAddress != "127.0.0.1:9402" || len(tgt.Cells) != 2 ||
		tgt.Cells[1].Zone != "z2" || tgt.PIDs["bbs"] == 0 || tgt.Cells[0].PID == 0 || !filepath.IsAbs(tgt.CACert) {
		t.Fatalf("target: %+v", tgt)
	}
	for _, f := range []string{tgt.CACert, tgt.ClientCert, tgt.ClientKey} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("target names a missing file: %v", err)
		}
	}
	cl := clientFor(t, tgt)
	lg := lager.NewLogger("t")
	if err := cl.UpsertDomain(lg, "", "cluster-test", 0); err != nil {
		t.Fatal(err)
	}
	if err := cl.DesireLRP(lg, "", sampleApp("app", 2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "2 instances answering", func() (bool, string) {
		n, msg := answering(cl, "app")
		return n == 2, msg
	})

	// The BBS exits: restarted, target updated, data intact.
	oldPid := tgt.PIDs["bbs"]
	if err := syscall.Kill(oldPid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the BBS to be restarted", func() (bool, string) {
		nt, err := target.Load(target.Path(dir))
		if err != nil || nt.PIDs["bbs"] == oldPid || !cl.Ping(lg, "") {
			return false, fmt.Sprint(nt.PIDs, err)
		}
		return true, ""
	})
	if d, err := cl.DesiredLRPByProcessGuid(lg, "", "app"); err != nil || d.Instances != 2 {
		t.Fatalf("after the BBS restart: %v %v", d, err)
	}

	// A rep is SIGKILLed: not restarted; its instance moves to the other cell.
	lrps, _ := cl.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: "app", CellID: "cell-1"})
	if err := syscall.Kill(tgt.Cells[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 40*time.Second, "both instances answering on cell-2", func() (bool, string) {
		n, msg := answering(cl, "app")
		onCell1, _ := cl.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: "app", CellID: "cell-1"})
		return n == 2 && len(onCell1) == 0, msg
	})
	if !strings.Contains(r.out.String(), "rep-cell-1 exited") {
		t.Fatalf("no word of the dead rep:\n%s", r.out)
	}
	if len(lrps) > 0 {
		// the app process the dead rep ran is gone (its port answers no more)
		old := lrps[0]
		eventually(t, 10*time.Second, "the dead rep's app process to be killed", func() (bool, string) {
			_, err := http.Get(fmt.Sprintf("http://%s:%d/", old.Address, old.Ports[0].HostPort))
			return err != nil, "still answering"
		})
	}

	// Stop, then resume: the desired LRP comes back running.
	r.stop()
	if _, err := os.Stat(target.Path(dir)); !os.IsNotExist(err) {
		t.Fatalf("target.json left after stop: %v", err)
	}
	r = up(t, dir, 2, 9400)
	if !strings.Contains(r.out.String(), "ready") || strings.Contains(r.out.String(), "generated mTLS") {
		t.Fatalf("resume output:\n%s", r.out)
	}
	eventually(t, 30*time.Second, "the app answering again after the resume", func() (bool, string) {
		n, msg := answering(cl, "app")
		return n == 2, msg
	})
}

func TestUpRefusesBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Dir: dir, BinDir: binDir, Backend: "docker"}, "--backend"},
		{Options{Dir: dir, BinDir: binDir, DB: "oracle://x"}, "--db"},
		{Options{Dir: dir, BinDir: binDir, DB: "postgres://127.0.0.1:5432"}, "name the database"},
		{Options{Dir: dir, BinDir: t.TempDir()}, "make build"},
		{Options{Dir: dir, BinDir: binDir, Cells: -1}, "--cells"},
		{Options{Dir: dir, BinDir: binDir, Cells: 2, CellTags: map[string][]string{"cell-3": {"gpu"}}}, "no such cell"},
	} {
		_, err := Up(t.Context(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to mention %q", tc.o, err, tc.want)
		}
	}
	// The same directory on another database is refused.
	if err := os.WriteFile(filepath.Join(dir, "database"), []byte("sqlite\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Up(t.Context(), Options{Dir: dir, BinDir: binDir, DB: "postgres://postgres@127.0.0.1:5432/x?sslmode=disable", PortBase: 9450})
	if err == nil || !strings.Contains(err.Error(), "same --db") {
		t.Fatalf("resume on another database: %v", err)
	}
}

func TestDatabaseFor(t *testing.T) {
	d, dsn, err := databaseFor("mysql://root:pw@127.0.0.1:3306/diego", "")
	if err != nil || d != "mysql" || dsn != "root:pw@tcp(127.0.0.1:3306)/diego?parseTime=true" {
		t.Fatalf("mysql: %s %s %v", d, dsn, err)
	}
	d, dsn, err = databaseFor("", "/x/bbs.db")
	if err != nil || d != "sqlite" || dsn != "/x/bbs.db" {
		t.Fatalf("sqlite: %s %s %v", d, dsn, err)
	}
}

// BenchmarkUpReady measures `diego up` from start to ready (3 cells, SQLite,
// process backend; binaries already built), then desires 100 instances of
// the sample app and measures until all are RUNNING and answering HTTP.
func BenchmarkUpReady(b *testing.B) {
	var upTimes, appTimes []time.Duration
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(b.TempDir(), "cluster")
		t0 := time.Now()
		r := up(b, dir, 3, 9500)
		upTimes = append(upTimes, time.Since(t0))
		tgt := r.c.Target()
		cl := clientFor(b, tgt)
		lg := lager.NewLogger("b")
		if err := cl.UpsertDomain(lg, "", "cluster-test", 0); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := cl.DesireLRP(lg, "", sampleApp("hundred", 100)); err != nil {
			b.Fatal(err)
		}
		eventually(b, 60*time.Second, "100 instances answering", func() (bool, string) {
			n, msg := answering(cl, "hundred")
			return n == 100, msg
		})
		appTimes = append(appTimes, time.Since(t1))
		r.stop()
	}
	var up, app time.Duration
	for i := range upTimes {
		up += upTimes[i]
		app += appTimes[i]
	}
	b.ReportMetric(up.Seconds()/float64(len(upTimes)), "up-to-ready-s")
	b.ReportMetric(app.Seconds()/float64(len(appTimes)), "100-instances-answering-s")
}

// TestUpRuncReapsDeadCell: on the runc backend, the containers of a rep
// that was SIGKILLed are removed (with their namespaces and mounts), not
// left running.
func TestUpRuncReapsDeadCell(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	out := &testutil.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Up(ctx, Options{Dir: dir, Cells: 1, PortBase: 9470, BinDir: binDir, Out: out, Backend: "runc"})
	if err != nil {
		cancel()
		t.Fatalf("up: %v\n%s", err, out)
	}
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	tgt := c.Target()
	cl := clientFor(t, tgt)
	lg := lager.NewLogger("t")
	d := sampleApp("sleeper", 1)
	d.Ports, d.CheckDefinition, d.EnvironmentVariables = nil, nil, nil
	d.Action = models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "exec sleep 600"}, User: "vcap"})
	if err := cl.UpsertDomain(lg, "", "cluster-test", 0); err != nil {
		t.Fatal(err)
	}
	if err := cl.DesireLRP(lg, "", d); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the instance RUNNING", func() (bool, string) {
		l, err := cl.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: "sleeper"})
		return err == nil && len(l) == 1 && l[0].State == models.ActualLRPStateRunning, fmt.Sprint(l, err)
	})
	if err := syscall.Kill(tgt.Cells[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the dead cell's container to be removed", func() (bool, string) {
		return strings.Contains(out.String(), "removed the 1 containers rep-cell-1 left running"), out.String()
	})
	list, err := exec.Command("runc", "--root", filepath.Join(dir, "cells", "cell-1", "runc", "runc"), "list", "-q").CombinedOutput()
	if err != nil || strings.TrimSpace(string(list)) != "" {
		t.Fatalf("runc still lists containers: %q %v", list, err)
	}
}

func TestCellTagsInRepConfig(t *testing.T) {
	l := layout{opts: Options{Cells: 2, Backend: "process", PortBase: 9000, CellTags: map[string][]string{"cell-2": {"gpu", "ssd"}}}.WithDefaults(),
		dir: "/x", certs: &pki.Bundle{}}
	if _, ok := l.repConfig(0)["placement_tags"]; ok {
		t.Fatalf("cell-1 got placement tags: %v", l.repConfig(0))
	}
	if got := fmt.Sprint(l.repConfig(1)["placement_tags"]); got != "[gpu ssd]" {
		t.Fatalf("cell-2 placement tags: %s", got)
	}
}
