package actions

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/container/tario"
)

// archiveFuzzLimit bounds what one fuzzed archive may extract to: small, so
// a bomb is refused at once and no seed is large.
const archiveFuzzLimit = 4 << 10

// FuzzArchive: whatever bytes a download serves, asTar recognises a tgz, a
// zip or a tar or refuses them with a clear error, and extracting the
// resulting stream writes nothing outside the destination (".." or a zip
// symlink member followed by a member through it) and no more than the
// limit (gzip and zip bombs fail with tario.ErrTooLarge), and ends.
func FuzzArchive(f *testing.F) {
	files := testutil.Files(map[string]string{"app/run.sh": "#!/bin/sh\necho hi\n", "app/lib/x": "y"})
	f.Add(testutil.Tgz(f, files))
	f.Add(testutil.Zip(f, files))
	f.Add(testutil.Tar(f, files))
	f.Add(testutil.Zip(f, map[string]testutil.File{"../outside/evil": {Body: "x"}}))
	f.Add(testutil.Tgz(f, map[string]testutil.File{"../../outside/evil": {Body: "x"}}))
	f.Add(zipInOrder(f, []string{"l", "l/evil"}, map[string]testutil.File{"l": {Body: "../outside", Mode: os.ModeSymlink | 0o777}, "l/evil": {Body: "x"}}))
	f.Add(zipInOrder(f, []string{"p"}, map[string]testutil.File{"p": {Mode: os.ModeNamedPipe | 0o644}}))
	f.Add(testutil.Tgz(f, map[string]testutil.File{"zeros": {Body: strings.Repeat("\x00", 64<<10)}}))
	f.Add(testutil.Zip(f, map[string]testutil.File{"zeros": {Body: strings.Repeat("\x00", 64<<10)}}))
	f.Add(gz(f, []byte("not a tar inside")))
	f.Add([]byte("PK\x05\x06"))
	f.Add([]byte{0x1f, 0x8b})

	base, seq := f.TempDir(), 0
	f.Fuzz(func(t *testing.T, data []byte) {
		seq++
		root := filepath.Join(base, strconv.Itoa(seq))
		defer os.RemoveAll(root)
		dest, outside := filepath.Join(root, "dest"), filepath.Join(root, "outside")
		for _, d := range []string{root, dest, outside} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(outside, "sentinel"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		archive := filepath.Join(root, "download")
		if err := os.WriteFile(archive, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		stream, size, err := asTar(file, int64(len(data)), true)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "download: ") {
				t.Errorf("asTar error %q does not say it is about the download", err)
			}
			if _, serr := os.Stat(archive); !errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("a refused archive was not removed: %v", serr)
			}
			return
		}
		if size != int64(len(data)) {
			t.Errorf("asTar passed size %d through as %d", len(data), size)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		n, err := tario.ExtractDirLimit(ctx, stream, dest, 0, archiveFuzzLimit)
		if cerr := stream.Close(); cerr != nil {
			t.Errorf("closing the stream: %v", cerr)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("extraction ran for a minute: %v", err)
		}
		if n > archiveFuzzLimit {
			t.Errorf("reported %d bytes, over the limit %d", n, archiveFuzzLimit)
		}
		if _, serr := os.Stat(archive); !errors.Is(serr, fs.ErrNotExist) {
			t.Errorf("the download was not removed at close: %v", serr)
		}
		confined(t, root, dest, outside)
	})
}

// confined fails unless root holds only dest's tree and the untouched
// outside/sentinel.
func confined(t *testing.T, root, dest, outside string) {
	t.Helper()
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case p == root || p == outside:
			return nil
		case p == dest || strings.HasPrefix(p, dest+"/"):
			if d.IsDir() {
				_ = os.Chmod(p, 0o755) // a 000 directory from the archive: let the walk and the cleanup in
			} else if d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					total += fi.Size()
				}
			}
			return nil
		case p == filepath.Join(outside, "sentinel"):
			if b, err := os.ReadFile(p); err != nil || string(b) != "keep" || !d.Type().IsRegular() {
				t.Errorf("outside/sentinel was changed: %q %v %v", b, d.Type(), err)
			}
			return nil
		}
		t.Errorf("extraction wrote %s, outside the destination", p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 2*archiveFuzzLimit { // a hard link counts twice here, and only hard links can
		t.Errorf("%d bytes of files under dest, limit %d", total, archiveFuzzLimit)
	}
}

func gz(tb testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// zipInOrder is a zip of files in the given order (testutil.Zip's map has
// none, and a symlink must come before the member written through it).
func zipInOrder(tb testing.TB, order []string, files map[string]testutil.File) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range order {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(files[name].Mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(files[name].Body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
