package testutil

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

func TestArchives(t *testing.T) {
	files := map[string]File{"bin/run": {Body: "#!/bin/sh\n", Mode: 0o755}, "README": {Body: "hi"}}
	readTar := func(r io.Reader) map[string]File { return ReadTar(t, r) }
	want := map[string]File{"bin/run": {Body: "#!/bin/sh\n", Mode: 0o755}, "README": {Body: "hi", Mode: 0o644}}
	check := func(kind string, got map[string]File) {
		t.Helper()
		if len(got) != len(want) || got["bin/run"] != want["bin/run"] || got["README"] != want["README"] {
			t.Errorf("%s: %+v, want %+v", kind, got, want)
		}
	}
	check("tar", readTar(bytes.NewReader(Tar(t, files))))
	zr, err := gzip.NewReader(bytes.NewReader(Tgz(t, files)))
	if err != nil {
		t.Fatal(err)
	}
	check("tgz", readTar(zr))
	z := Zip(t, files)
	r, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]File{}
	for _, f := range r.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = File{Body: string(b), Mode: f.Mode()}
	}
	check("zip", got)
	if fs := Files(map[string]string{"a": "b"}); fs["a"] != (File{Body: "b"}) {
		t.Errorf("Files: %+v", fs)
	}
}
