package cluster

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	auctioneerdaemon "github.com/diego-go/diego/src/auctioneer/daemon"
	bbsconfig "github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/reencrypt"
	locketdaemon "github.com/diego-go/diego/src/locket/daemon"
	"github.com/diego-go/diego/src/pki"
	repdaemon "github.com/diego-go/diego/src/rep/daemon"
)

// testLayout is a two-cell cluster's layout on port 9000 in a temporary
// directory, with real certificates and instance identity CA (the configs'
// validation reads them).
func testLayout(t *testing.T) layout {
	t.Helper()
	dir := t.TempDir()
	certs, err := pki.GenerateLocal(filepath.Join(dir, "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	l := layout{opts: Options{Cells: 2, Backend: "process", PortBase: 9000}.WithDefaults(), dir: dir, key: "passphrase", certs: certs}
	if _, err := l.ensureIdentityCA(); err != nil {
		t.Fatal(err)
	}
	return l
}

// writeAndLoad writes cfg as `diego up` does and loads it back with the
// component's own Load (defaults, strict JSON, validation).
func writeAndLoad[T any](t *testing.T, l layout, name string, cfg any, load func(string) (T, error)) T {
	t.Helper()
	path := l.configFile(name)
	if err := writeConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := load(path)
	if err != nil {
		t.Fatalf("%s config: %v", name, err)
	}
	return got
}

// TestConfigsLoad: every config `diego up` writes is one its component
// loads with its own Load, with the cluster's addresses, certificates,
// database, key and short intervals.
func TestConfigsLoad(t *testing.T) {
	l := testLayout(t)
	bbsCfg, err := l.bbsConfig(0)
	if err != nil {
		t.Fatal(err)
	}
	locketCfg, err := l.locketConfig(0)
	if err != nil {
		t.Fatal(err)
	}
	bbs := writeAndLoad(t, l, "bbs", bbsCfg, bbsconfig.Load)
	if bbs.ListenAddress != "127.0.0.1:9000" || bbs.LocketAddress != "127.0.0.1:9002" || bbs.AuctioneerAddress != "127.0.0.1:9003" ||
		bbs.EncryptionKeys["local"] != "passphrase" || time.Duration(bbs.LockTTL) != 15*time.Second ||
		bbs.DatabaseConnectionString != filepath.Join(l.dir, "bbs.db") {
		t.Errorf("bbs config %+v", bbs)
	}
	locket := writeAndLoad(t, l, "locket", locketCfg, locketdaemon.Load)
	if locket.ListenAddress != "127.0.0.1:9002" || locket.DatabaseConnectionString != bbs.DatabaseConnectionString || locket.CAFile != l.certs.CACert {
		t.Errorf("locket config %+v", locket)
	}
	auctioneer := writeAndLoad(t, l, "auctioneer", l.auctioneerConfig(0), auctioneerdaemon.Load)
	if auctioneer.ListenAddress != "127.0.0.1:9003" || auctioneer.LocketAddress != "127.0.0.1:9002" ||
		auctioneer.BBSAddress != "https://127.0.0.1:9000" || time.Duration(auctioneer.LockTTL) != 15*time.Second ||
		auctioneer.RepClientCertFile != l.certs.ClientCert {
		t.Errorf("auctioneer config %+v", auctioneer)
	}
	rep := writeAndLoad(t, l, "rep-cell-2", l.repConfig(1), repdaemon.Load)
	if rep.CellID != "cell-2" || rep.Zone != "z2" || rep.ListenAddress != "127.0.0.1:9012" || rep.Backend != "process" ||
		rep.Process == nil || rep.Process.PortRangeStart != 62000 || rep.Runc != nil {
		t.Errorf("rep config %+v", rep)
	}
}

func TestCellTagsInRepConfig(t *testing.T) {
	l := layout{opts: Options{Cells: 2, Backend: "process", PortBase: 9000, CellTags: map[string][]string{"cell-2": {"gpu", "ssd"}}}.WithDefaults(),
		dir: "/x", certs: &pki.Bundle{}}
	if tags := l.repConfig(0).PlacementTags; len(tags) > 0 {
		t.Fatalf("cell-1 got placement tags: %v", tags)
	}
	if got := fmt.Sprint(l.repConfig(1).PlacementTags); got != "[gpu ssd]" {
		t.Fatalf("cell-2 placement tags: %s", got)
	}
}

// TestReencryptPacingInBBSConfig: --reencrypt-batch-size and
// --reencrypt-batch-pause reach the BBS config; negative ones are refused.
func TestReencryptPacingInBBSConfig(t *testing.T) {
	l := testLayout(t)
	c, err := l.bbsConfig(0)
	if err != nil {
		t.Fatal(err)
	}
	if c.ReencryptBatchSize != 0 || c.ReencryptBatchPause != 0 {
		t.Errorf("unpaced by default: got batch %d, pause %s", c.ReencryptBatchSize, time.Duration(c.ReencryptBatchPause))
	}
	l.opts.Reencrypt = reencrypt.Pacing{BatchSize: 2, BatchPause: 1500 * time.Millisecond}
	if c, err = l.bbsConfig(0); err != nil {
		t.Fatal(err)
	}
	bbs := writeAndLoad(t, l, "bbs", c, bbsconfig.Load)
	if bbs.ReencryptBatchSize != 2 || time.Duration(bbs.ReencryptBatchPause) != 1500*time.Millisecond {
		t.Errorf("bbs config batch %d, pause %s", bbs.ReencryptBatchSize, time.Duration(bbs.ReencryptBatchPause))
	}
	o := Options{Dir: l.dir, Reencrypt: reencrypt.Pacing{BatchSize: -1}}.WithDefaults()
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--reencrypt-batch-size") {
		t.Errorf("Validate with a negative batch size: %v", err)
	}
}
