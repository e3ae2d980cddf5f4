package target

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestWriteLoad: what `diego up` writes is what the readers load, with
// relative paths taken from the file's directory.
func TestWriteLoad(t *testing.T) {
	dir := t.TempDir()
	in := File{BBSURL: "https://127.0.0.1:8889", LocketAddress: "127.0.0.1:8891", CACert: "/c/ca.crt",
		ClientCert: "certs/client.crt", ClientKey: "/c/client.key", LogDir: "logs", RootFS: "preloaded:busybox",
		Backend: "process", PIDs: map[string]int{"bbs": 10},
		Cells: []Cell{{CellID: "cell-1", RepURL: "https://127.0.0.1:1801", LocalURL: "http://127.0.0.1:1800", Zone: "z1", PID: 13}}}
	if err := Write(Path(dir), in); err != nil {
		t.Fatal(err)
	}
	out, err := Load(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.ClientCert, want.LogDir = filepath.Join(dir, "certs/client.crt"), filepath.Join(dir, "logs")
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("loaded %+v\nwant %+v", out, want)
	}
	if c, ok := out.Cell("cell-1"); !ok || c.PID != 13 {
		t.Fatalf("Cell(cell-1) = %+v, %v", c, ok)
	}
	if _, ok := out.Cell("cell-2"); ok {
		t.Fatal("Cell(cell-2) found")
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file loaded")
	}
}
