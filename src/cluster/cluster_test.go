package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/routeemitter/routes"
	"github.com/diego-go/diego/src/target"
)

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
	if !strings.Contains(r.out.String(), "generated the instance identity CA") {
		t.Fatalf("no instance identity CA made:\n%s", r.out)
	}
	checkEdge(t, tgt)
	for _, f := range []string{tgt.CACert, tgt.ClientCert, tgt.ClientKey, filepath.Join(dir, "certs", "instance-identity", "ca.crt")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("target names a missing file: %v", err)
		}
	}
	cl := clientFor(t, tgt)
	lg := lager.NewLogger("t")
	if err := cl.UpsertDomain(lg, "", "cluster-test", 0); err != nil {
		t.Fatal(err)
	}
	app := sampleApp("app", 2)
	raw := json.RawMessage(`[{"hostnames":["app.diego.local"],"port":8080}]`)
	app.Routes = &models.Routes{"cf-router": &raw}
	if err := cl.DesireLRP(lg, "", app); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "2 instances answering", func() (bool, string) {
		n, msg := answering(cl, "app")
		return n == 2, msg
	})
	eventually(t, 20*time.Second, "the route emitter's table routing app.diego.local to both", func() (bool, string) {
		tbl, err := routes.Fetch(context.Background(), tgt.RouteEmitterURL)
		n := 0
		for _, r := range tbl.External {
			if r.Route == "app.diego.local" && r.ProcessGUID == "app" {
				n++
			}
		}
		return err == nil && tbl.Active && n == 2, fmt.Sprintf("%+v %v", tbl, err)
	})

	checkRunSSH(t, dir)

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
	if !strings.Contains(r.out.String(), "ready") || strings.Contains(r.out.String(), "generated mTLS") ||
		strings.Contains(r.out.String(), "generated the instance identity CA") {
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

// TestUpPortTaken: a taken port fails diego up before anything starts,
// naming the port, what needed it and who holds it (Locket used to die
// with "address already in use" and the BBS retried a stranger for 60 s).
func TestUpPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:9652") // Locket's, for port base 9650
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	_, err = Up(t.Context(), Options{Dir: dir, BinDir: binDir, Cells: 1, PortBase: 9650})
	want := fmt.Sprintf("port 9652 (for Locket) is taken: %s (pid %d) is listening there", filepath.Base(os.Args[0])[:min(15, len(filepath.Base(os.Args[0])))], os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--port-base") {
		t.Fatalf("err = %v, want it to contain %q and suggest --port-base", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "certs")); !os.IsNotExist(err) {
		t.Fatalf("something was prepared before the port check: %v", err)
	}
}

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
