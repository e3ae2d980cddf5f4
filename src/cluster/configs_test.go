package cluster

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bbsconfig "github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/pki"
)

// TestBBSConfigLoads: the BBS config `diego up` writes is one the BBS loads
// (strict JSON, validated), with the cluster's addresses, key and database.
func TestBBSConfigLoads(t *testing.T) {
	dir := t.TempDir()
	certs, err := pki.GenerateLocal(filepath.Join(dir, "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	l := layout{opts: Options{Cells: 1, Backend: "process", PortBase: 9000}.WithDefaults(), dir: dir, key: "passphrase", certs: certs}
	cfg, err := l.bbsConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bbs.json")
	if err := writeConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := bbsconfig.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.ListenAddress != "127.0.0.1:9000" || got.LocketAddress != "127.0.0.1:9002" || got.AuctioneerAddress != "127.0.0.1:9003" ||
		got.EncryptionKeys["local"] != "passphrase" || time.Duration(got.LockTTL) != 5*time.Second ||
		got.DatabaseConnectionString != filepath.Join(dir, "bbs.db") {
		t.Fatalf("config %+v", got)
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
