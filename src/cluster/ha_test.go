package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/lager/v3"

	bbsconfig "github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/cli"
	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/testdb"
	locketdaemon "github.com/diego-go/diego/src/locket/daemon"
	repdaemon "github.com/diego-go/diego/src/rep/daemon"
	"github.com/diego-go/diego/src/target"
)

// TestHARefusesSQLite: --ha without --db says what to pass.
func TestHARefusesSQLite(t *testing.T) {
	_, err := Up(t.Context(), Options{Dir: t.TempDir(), BinDir: binDir, HA: true, PortBase: 9800})
	if err == nil || !strings.Contains(err.Error(), "--ha needs a database") || !strings.Contains(err.Error(), "--db postgres://") {
		t.Fatalf("Up --ha on SQLite: %v", err)
	}
}

// TestHAConfigs: with --ha, z2's control plane listens 200 above z1's and
// every client is given every server, its own zone's Locket first.
func TestHAConfigs(t *testing.T) {
	l := testLayout(t)
	l.opts.HA, l.opts.DB = true, "postgres://postgres@127.0.0.1:5432/diego?sslmode=disable"
	bbsCfg, err := l.bbsConfig(1)
	if err != nil {
		t.Fatal(err)
	}
	b := writeAndLoad(t, l, "bbs-z2", bbsCfg, bbsconfig.Load)
	if b.ListenAddress != "127.0.0.1:9200" || b.HealthAddress != "127.0.0.1:9201" ||
		b.LocketAddress != "127.0.0.1:9202,127.0.0.1:9002" || b.AuctioneerAddress != "127.0.0.1:9003,127.0.0.1:9203" {
		t.Errorf("z2 bbs config %+v", b)
	}
	locketCfg, err := l.locketConfig(1)
	if err != nil {
		t.Fatal(err)
	}
	if lc := writeAndLoad(t, l, "locket-z2", locketCfg, locketdaemon.Load); lc.ListenAddress != "127.0.0.1:9202" || lc.DatabaseDriver != "postgres" {
		t.Errorf("z2 locket config %+v", lc)
	}
	rep := writeAndLoad(t, l, "rep-cell-2", l.repConfig(1), repdaemon.Load)
	if rep.BBSAddress != "https://127.0.0.1:9000,https://127.0.0.1:9200" || rep.LocketAddress != "127.0.0.1:9202,127.0.0.1:9002" {
		t.Errorf("cell-2's rep config: bbs %q locket %q", rep.BBSAddress, rep.LocketAddress)
	}
	if got := l.opts.topPort(); got != 9207 {
		t.Errorf("top port %d, want 9207 (z2's Locket metrics)", got)
	}
}

// leading says which of the target's BBS health listeners answers
// /leader with 200 (-1: none).
func leading(t target.File) int {
	for i, u := range t.BBSHealthURLs {
		resp, err := http.Get(u + "/leader")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return i
		}
	}
	return -1
}

// TestUpHA: an --ha cluster on PostgreSQL runs two of each control-plane
// component; the z2 BBS is a standby; kill -9 of the active BBS and of a
// Locket leaves a cluster that serves the CLI (through the target's
// address lists), keeps its app running and places a new one.
func TestUpHA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	r := upWith(t, Options{Dir: dir, Cells: 2, PortBase: 9800, HA: true, DB: testdb.Postgres(t)})
	tgt, err := target.Load(target.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	h := r.c.l.host()
	if tgt.BBSURL != "https://"+h+":9800,https://"+h+":10000" || tgt.LocketAddress != h+":9802,"+h+":10002" ||
		len(tgt.BBSHealthURLs) != 2 {
		t.Fatalf("target: %+v", tgt)
	}
	// As root, each cell has a namespace of its own (and an address).
	root := os.Geteuid() == 0
	if root != (tgt.Cells[0].Netns != "") || root == (h == "127.0.0.1") || root == (r.c.l.cellHost(0) == r.c.l.cellHost(1)) {
		t.Fatalf("cells (root %v): %+v", root, tgt.Cells)
	}
	for _, name := range []string{"bbs", "bbs-z2", "locket", "locket-z2", "auctioneer", "auctioneer-z2"} {
		if tgt.PIDs[name] == 0 {
			t.Fatalf("no pid for %s in %v", name, tgt.PIDs)
		}
	}
	if n := leading(tgt); n != 0 {
		t.Fatalf("leading BBS: %d, want z1's (0)\n%s", n, r.out)
	}
	cl, err := bbsaddr.NewClient(bbs.ClientConfig{URL: tgt.BBSURL, IsTLS: true, CAFile: tgt.CACert, CertFile: tgt.ClientCert, KeyFile: tgt.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	lg := lager.NewLogger("t")
	if err := cl.UpsertDomain(lg, "", "cluster-test", 0); err != nil {
		t.Fatal(err)
	}
	if err := cl.DesireLRP(lg, "", sampleApp("before", 2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "2 instances answering", func() (bool, string) {
		n, msg := answering(cl, "before")
		return n == 2, msg
	})

	t.Setenv("DIEGO_TARGET", target.Path(dir))
	diego := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := cli.Dispatch(context.Background(), cli.Commands(), args, &out, &out)
		return out.String(), err
	}
	// The active BBS dies without a word: the standby takes the lock and
	// serves; the CLI reaches it through the target's list.
	if err := syscall.Kill(tgt.PIDs["bbs"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// (The supervisor restarts the killed one a second later: either may
	// win the lock.)
	eventually(t, 60*time.Second, "a BBS leading and the CLI listing through it", func() (bool, string) {
		out, err := diego("desired-lrps")
		return leading(tgt) >= 0 && err == nil && strings.Contains(out, "before"), fmt.Sprintf("leader %d, %v: %s", leading(tgt), err, out)
	})
	eventually(t, 30*time.Second, "the app still answering", func() (bool, string) {
		n, msg := answering(cl, "before")
		return n == 2, msg
	})

	// z1's Locket dies too: the components move to z2's; a new app is
	// placed (BBS → auctioneer → reps) and the killed processes come back.
	if err := syscall.Kill(tgt.PIDs["locket"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if out, err := diego("run", "after", "--instances", "2", "--port", "8080", "--domain", "cluster-test", "--timeout", "90s", "--", filepath.Join(binDir, "sample-app")); err != nil {
		t.Fatalf("diego run after failovers: %v\n%s\n%s", err, out, r.out)
	}
	eventually(t, 30*time.Second, "the new app answering", func() (bool, string) {
		n, msg := answering(cl, "after")
		return n == 2, msg
	})
	eventually(t, 30*time.Second, "the killed BBS and Locket restarted", func() (bool, string) {
		now, err := target.Load(target.Path(dir))
		return err == nil && now.PIDs["bbs"] != tgt.PIDs["bbs"] && now.PIDs["locket"] != tgt.PIDs["locket"] && leading(now) >= 0,
			fmt.Sprintf("%v %v leader %d", now.PIDs, err, leading(now))
	})

	if !root {
		if err := r.c.Partition("cell-1"); err == nil || !strings.Contains(err.Error(), "--ha as root") {
			t.Fatalf("Partition without namespaces: %v", err)
		}
		return
	}
	// cell-1 cut off the BBS and Locket: its presence lapses, the process
	// lives on; healed, it is back.
	hasCell := func(id string) (bool, string) {
		cells, err := cl.Cells(lg, "")
		var ids []string
		for _, c := range cells {
			ids = append(ids, c.CellId)
		}
		return strings.Contains(strings.Join(ids, " "), id), fmt.Sprintf("%v %v", ids, err)
	}
	if err := r.c.Partition("cell-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 40*time.Second, "cell-1's presence gone", func() (bool, string) { ok, msg := hasCell("cell-1"); return !ok, msg })
	if err := syscall.Kill(tgt.Cells[0].PID, 0); err != nil {
		t.Fatalf("the partitioned rep died: %v", err)
	}
	if err := r.c.Heal("cell-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 40*time.Second, "cell-1 back", func() (bool, string) { return hasCell("cell-1") })
}
