package cluster

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	auctioneerdaemon "github.com/diego-go/diego/src/auctioneer/daemon"
	bbsconfig "github.com/diego-go/diego/src/bbs/config"
	locketdaemon "github.com/diego-go/diego/src/locket/daemon"
	"github.com/diego-go/diego/src/pki"
	repdaemon "github.com/diego-go/diego/src/rep/daemon"
)

// testLayout is a two-cell cluster's layout on port 9000 in a temporary
// directory, with real certificates (the configs' validation reads them).
func testLayout(t *testing.T) layout {
	t.Helper()
	dir := t.TempDir()
	certs, err := pki.GenerateLocal(filepath.Join(dir, "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return layout{opts: Options{Cells: 2, Backend: "process", PortBase: 9000}.WithDefaults(), dir: dir, key: "passphrase", certs: certs}
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

// TestBBSConfigLoads: the BBS config `diego up` writes is one the BBS loads,
// with the cluster's addresses, key and database.
func TestBBSConfigLoads(t *testing.T) {
	l := testLayout(t)
	cfg, err := l.bbsConfig()
	if err != nil {
		t.Fatal(err)
	}
	got := writeAndLoad(t, l, "bbs", cfg, bbsconfig.Load)
	if got.ListenAddress != "127.0.0.1:9000" || got.LocketAddress != "127.0.0.1:9002" || got.AuctioneerAddress != "127.0.0.1:9003" ||
		got.EncryptionKeys["local"] != "passphrase" || time.Duration(got.LockTTL) != 5*time.Second ||
		got.DatabaseConnectionString != filepath.Join(l.dir, "bbs.db") {
		t.Fatalf("config %+v", got)
	}
}

// TestLocketConfigLoads: the Locket config `diego up` writes is one Locket
// loads, on the BBS's database.
func TestLocketConfigLoads(t *testing.T) {
	l := testLayout(t)
	cfg, err := l.locketConfig()
	if err != nil {
		t.Fatal(err)
	}
	got := writeAndLoad(t, l, "locket", cfg, locketdaemon.Load)
	if got.ListenAddress != "127.0.0.1:9002" || got.DatabaseConnectionString != filepath.Join(l.dir, "bbs.db") || got.CAFile != l.certs.CACert {
		t.Fatalf("config %+v", got)
	}
}

// TestAuctioneerConfigLoads: the auctioneer config `diego up` writes is one
// the auctioneer loads, with the cluster's Locket, BBS and short lock TTL.
func TestAuctioneerConfigLoads(t *testing.T) {
	l := testLayout(t)
	got := writeAndLoad(t, l, "auctioneer", l.auctioneerConfig(), auctioneerdaemon.Load)
	if got.ListenAddress != "127.0.0.1:9003" || got.LocketAddress != "127.0.0.1:9002" || got.BBSAddress != "https://127.0.0.1:9000" ||
		time.Duration(got.LockTTL) != 5*time.Second || got.RepClientCertFile != l.certs.ClientCert {
		t.Fatalf("config %+v", got)
	}
}

// TestRepConfigLoads: the rep config `diego up` writes is one the rep loads,
// with the cell's own port range on its backend.
func TestRepConfigLoads(t *testing.T) {
	l := testLayout(t)
	got := writeAndLoad(t, l, "rep-cell-2", l.repConfig(1), repdaemon.Load)
	if got.CellID != "cell-2" || got.Zone != "z2" || got.ListenAddress != "127.0.0.1:9012" || got.Backend != "process" ||
		got.Process == nil || got.Process.PortRangeStart != 62000 || got.Runc != nil {
		t.Fatalf("config %+v", got)
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
