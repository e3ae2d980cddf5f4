package tario

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fuzzLimit is the extraction limit the fuzz target sets: small, so that a
// bomb shows as ErrTooLarge at once, and so that no seed is large (the fuzz
// engine minimizes every input that finds new coverage, for up to a minute
// without reporting progress: a large seed whose every execution writes a
// large file looks like a hang).
const fuzzLimit = 4 << 10

func tarOf(f testing.TB, entries ...tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		body := []byte(strings.Repeat("x", int(h.Size)))
		if h.Typeflag != tar.TypeReg {
			body = nil
		}
		if err := tw.WriteHeader(&h); err != nil {
			f.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			f.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzExtractDir: whatever tar stream the rep extracts (a download, a
// StreamIn), nothing is written outside the destination (neither through
// ".." nor through a symlink in the stream or already in the destination),
// the bytes written stay within the limit (a bomb fails with ErrTooLarge),
// and it returns.
func FuzzExtractDir(f *testing.F) {
	reg := func(name string, size int64) tar.Header {
		return tar.Header{Name: name, Typeflag: tar.TypeReg, Size: size, Mode: 0o644}
	}
	f.Add(tarOf(f, tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755}, reg("app/run.sh", 10)))
	f.Add(tarOf(f, reg("../outside/evil", 3)))
	f.Add(tarOf(f, reg("/../../outside/evil", 3)))
	f.Add(tarOf(f, reg("escape/evil", 3)))
	f.Add(tarOf(f, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../outside"}, reg("l/evil", 3)))
	f.Add(tarOf(f, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/"}, tar.Header{Name: "l/", Typeflag: tar.TypeDir, Mode: 0o777}))
	f.Add(tarOf(f, tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../outside/sentinel"}))
	f.Add(tarOf(f, tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "escape/sentinel"}))
	f.Add(tarOf(f, reg("a", 5), tar.Header{Name: "b", Typeflag: tar.TypeLink, Linkname: "a"}))
	f.Add(tarOf(f, tar.Header{Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o644}, reg("fifo", 2)))
	f.Add(tarOf(f, tar.Header{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}))
	f.Add(tarOf(f, reg("big", fuzzLimit+1)))
	f.Add(tarOf(f, tar.Header{Name: "d", Typeflag: tar.TypeDir, Mode: 0}, reg("d/f", 1)))
	f.Add(tarOf(f, reg("t", 1), tar.Header{Name: "t", Typeflag: tar.TypeDir, Mode: 0o700, ModTime: time.Unix(1<<40, 0)}))
	f.Add([]byte("not a tar"))
	f.Add(sparseBomb(f, 1<<40))

	base, seq := f.TempDir(), 0
	f.Fuzz(func(t *testing.T, data []byte) {
		seq++
		root := filepath.Join(base, strconv.Itoa(seq))
		defer os.RemoveAll(root)
		dest := filepath.Join(root, "dest")
		outside := filepath.Join(root, "outside")
		for _, d := range []string{root, dest, outside} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(outside, "sentinel"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../outside", filepath.Join(dest, "escape")); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		n, err := ExtractDirLimit(ctx, bytes.NewReader(data), dest, 0, fuzzLimit)
		if n > fuzzLimit {
			t.Errorf("reported %d bytes written, over the limit %d (err %v)", n, fuzzLimit, err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("extraction ran for a minute: %v", err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "container: stream in") {
			t.Errorf("error %q does not say it is about the stream in", err)
		}
		checkConfined(t, root, dest, outside)
		if size := regularBytes(t, dest); size > fuzzLimit {
			t.Errorf("%d bytes of regular files under dest, over the limit %d", size, fuzzLimit)
		}
	})
}

// checkConfined fails unless root holds nothing but dest's tree and the
// untouched outside/sentinel.
func checkConfined(t *testing.T, root, dest, outside string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case p == root || p == dest || p == outside || strings.HasPrefix(p, dest+"/"):
			if d.IsDir() && p != root && p != outside {
				_ = os.Chmod(p, 0o755) // a 000 directory from the stream: let the walk and the cleanup in
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
}

// regularBytes is the size of the distinct regular files under dir.
func regularBytes(t *testing.T, dir string) int64 {
	t.Helper()
	seen := map[uint64]bool{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// sparseBomb is a PAX GNU sparse (0.1) entry with an empty map and a real
// size of size: under 2 KiB that read as size zero bytes.
func sparseBomb(f testing.TB, size int64) []byte {
	var recs string
	for _, kv := range [][2]string{{"GNU.sparse.major", "0"}, {"GNU.sparse.minor", "1"}, {"GNU.sparse.numblocks", "0"}, {"GNU.sparse.map", ""}, {"GNU.sparse.size", strconv.FormatInt(size, 10)}} {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(rec) + 1
		for len(strconv.Itoa(n))+len(rec) != n {
			n++
		}
		recs += strconv.Itoa(n) + rec
	}
	b := tarOf(f, tar.Header{Name: "PaxHeaders/sparse", Typeflag: tar.TypeReg, Size: int64(len(recs)), Mode: 0o644, Format: tar.FormatUSTAR},
		tar.Header{Name: "sparse", Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatUSTAR})
	copy(b[512:], recs)
	hdr := b[:512]
	hdr[156] = tar.TypeXHeader
	copy(hdr[148:156], "        ")
	sum := 0
	for _, c := range hdr {
		sum += int(c)
	}
	copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// TestExtractDirLimitRefusesBombs: a sparse entry claiming a terabyte and a
// plain entry over the limit both fail with ErrTooLarge, writing nothing.
func TestExtractDirLimitRefusesBombs(t *testing.T) {
	for name, stream := range map[string][]byte{
		"sparse": sparseBomb(t, 1<<40),
		"plain":  tarOf(t, tar.Header{Name: "a", Typeflag: tar.TypeReg, Size: 3000, Mode: 0o644}, tar.Header{Name: "b", Typeflag: tar.TypeReg, Size: 3000, Mode: 0o644}),
	} {
		dest := t.TempDir()
		n, err := ExtractDirLimit(context.Background(), bytes.NewReader(stream), dest, 0, 4096)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "would exceed 4096 bytes") {
			t.Errorf("%s: err = %v; want ErrTooLarge naming the limit", name, err)
		}
		if size := regularBytes(t, dest); n > 4096 || size > 4096 {
			t.Errorf("%s: reported %d bytes, wrote %d; limit 4096", name, n, size)
		}
	}
}
