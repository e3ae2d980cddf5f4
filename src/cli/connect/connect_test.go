package connect

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/target"
)

func TestResolvePrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target.json")
	os.WriteFile(path, []byte(`{"bbs_url":"https://file:1","locket_address":"file:2","ca_cert":"certs/ca.crt",
		"client_cert":"/abs/client.crt","client_key":"/abs/client.key","log_dir":"/logs",
		"cells":[{"cell_id":"c1","rep_url":"https://c1","zone":"z1"}]}`), 0o600)
	env := map[string]string{"DIEGO_TARGET": path, "LOCKET_API_LOCATION": "env:2"}
	s := Settings{BBSURL: "https://flag:1"}
	if err := s.Resolve(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	want := Settings{Target: path, BBSURL: "https://flag:1", LocketAddress: "env:2",
		BBSCACert: filepath.Join(dir, "certs/ca.crt"), BBSCert: "/abs/client.crt", BBSKey: "/abs/client.key",
		LocketCACert: filepath.Join(dir, "certs/ca.crt"), LocketCert: "/abs/client.crt", LocketKey: "/abs/client.key",
		LogDir: "/logs"}
	f, err := target.Load(path)
	if err != nil || len(f.Cells) != 1 || f.Cells[0].Zone != "z1" {
		t.Fatalf("cells: %+v %v", f, err)
	}
	want.File = f // the file as Resolve read it, for the other commands
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	if err := s.CheckBBS(); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckLocket(); err != nil {
		t.Fatal(err)
	}
}

func TestChecks(t *testing.T) {
	var s Settings
	err := s.CheckBBS()
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "--bbs-url (or BBS_URL)") {
		t.Fatalf("empty: %v", err)
	}
	s.BBSURL = "http://127.0.0.1:8889"
	if err := s.CheckBBS(); err != nil {
		t.Fatalf("plain http needs no certs: %v", err)
	}
	s.BBSURL = "https://127.0.0.1:8889"
	s.BBSCACert = "ca"
	if err := s.CheckBBS(); err == nil || strings.Contains(err.Error(), "ca-cert") || !strings.Contains(err.Error(), "--bbs-key-file") {
		t.Fatalf("https: %v", err)
	}
	if err := s.Resolve(func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	s.Target = filepath.Join(t.TempDir(), "missing.json")
	if err := s.Resolve(func(string) string { return "" }); err == nil {
		t.Fatal("missing target file accepted")
	}
}
