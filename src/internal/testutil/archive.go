package testutil

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"testing"
)

// File is a member of a test archive.
type File struct {
	Body string
	Mode os.FileMode // 0 = 0644
}

// Files makes 0644 archive members from name → body.
func Files(bodies map[string]string) map[string]File {
	fs := make(map[string]File, len(bodies))
	for name, body := range bodies {
		fs[name] = File{Body: body}
	}
	return fs
}

func (f File) mode() os.FileMode {
	if f.Mode == 0 {
		return 0o644
	}
	return f.Mode
}

// Tar returns a tar archive of files (regular files, by name).
func Tar(tb testing.TB, files map[string]File) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: int64(f.mode()), Size: int64(len(f.Body)), Typeflag: tar.TypeReg}); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.Body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// ReadTar reads a tar stream into name → member (directories and other
// non-regular entries with an empty body).
func ReadTar(tb testing.TB, r io.Reader) map[string]File {
	tb.Helper()
	got := map[string]File{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		got[hdr.Name] = File{Body: string(b), Mode: hdr.FileInfo().Mode()}
	}
}

// Tgz returns Tar(files) gzipped.
func Tgz(tb testing.TB, files map[string]File) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(Tar(tb, files)); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Zip returns a zip archive of files.
func Zip(tb testing.TB, files map[string]File) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, f := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(f.mode())
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(w, f.Body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
