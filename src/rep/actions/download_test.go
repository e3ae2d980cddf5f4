package actions

import (
	"archive/tar"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

func makeTar(t *testing.T, files map[string]string) []byte {
	return testutil.Tar(t, testutil.Files(files))
}

func makeTgz(t *testing.T, files map[string]string) []byte {
	return testutil.Tgz(t, testutil.Files(files))
}

func makeZip(t *testing.T, files map[string]string) []byte {
	return testutil.Zip(t, testutil.Files(files))
}

type artifactServer struct {
	*httptest.Server
	hits atomic.Int64
}

// newArtifactServer serves blobs by path with no ETag or Last-Modified.
func newArtifactServer(t *testing.T, blobs map[string][]byte) *artifactServer {
	return serveArtifacts(t, blobs, false)
}

// newTaggedArtifactServer serves blobs with an ETag (their sha256) and
// answers a matching If-None-Match with 304, as a blobstore does.
func newTaggedArtifactServer(t *testing.T, blobs map[string][]byte) *artifactServer {
	return serveArtifacts(t, blobs, true)
}

func serveArtifacts(t *testing.T, blobs map[string][]byte, etags bool) *artifactServer {
	s := &artifactServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		b, ok := blobs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if etags {
			etag := `"` + hexSum("sha256", b) + `"`
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
		}
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func hexSum(algo string, b []byte) string {
	switch algo {
	case "md5":
		s := md5.Sum(b)
		return hex.EncodeToString(s[:])
	case "sha1":
		s := sha1.Sum(b)
		return hex.EncodeToString(s[:])
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestDownload(t *testing.T) {
	files := map[string]string{"app/index.html": "hi", "app/run.sh": "#!/bin/sh\n"}
	tgz, zp := makeTgz(t, files), makeZip(t, files)
	srv := newArtifactServer(t, map[string][]byte{"/a.tgz": tgz, "/a.zip": zp, "/a.tar": makeTar(t, files), "/junk": []byte("not an archive")})

	tests := []struct {
		name      string
		action    *models.DownloadAction
		streamErr error
		wantErr   string
		wantLog   string
	}{
		{name: "tgz", action: &models.DownloadAction{From: srv.URL + "/a.tgz", To: "/tmp/app", Artifact: "droplet"}},
		{name: "zip", action: &models.DownloadAction{From: srv.URL + "/a.zip", To: "/tmp/app"}},
		{name: "tar", action: &models.DownloadAction{From: srv.URL + "/a.tar", To: "/tmp/app"}},
		{name: "md5 ok", action: &models.DownloadAction{From: srv.URL + "/a.tgz", To: "/tmp/app", ChecksumAlgorithm: "md5", ChecksumValue: hexSum("md5", tgz)}},
		{name: "sha1 ok", action: &models.DownloadAction{From: srv.URL + "/a.zip", To: "/tmp/app", ChecksumAlgorithm: "sha1", ChecksumValue: hexSum("sha1", zp)}},
		{name: "sha256 ok", action: &models.DownloadAction{From: srv.URL + "/a.tgz", To: "/tmp/app", ChecksumAlgorithm: "sha256", ChecksumValue: strings.ToUpper(hexSum("sha256", tgz))}},
		{name: "checksum mismatch", action: &models.DownloadAction{From: srv.URL + "/a.tgz", To: "/tmp/app", Artifact: "droplet", ChecksumAlgorithm: "sha256", ChecksumValue: hexSum("sha256", zp)},
			wantErr: "Downloading droplet failed", wantLog: "Downloading droplet failed\n"},
		{name: "unknown algorithm", action: &models.DownloadAction{From: srv.URL + "/a.tgz", To: "/tmp/app", ChecksumAlgorithm: "crc32", ChecksumValue: "00"}, wantErr: "Downloading failed"},
		{name: "not found", action: &models.DownloadAction{From: srv.URL + "/missing", To: "/tmp/app", Artifact: "buildpack"}, wantErr: "Downloading buildpack failed"},
		{name: "not an archive", action: &models.DownloadAction{From: srv.URL + "/junk", To: "/tmp/app"}, wantErr: "Downloading failed"},
		{name: "bad scheme", action: &models.DownloadAction{From: "ftp://x/y", To: "/tmp/app"}, wantErr: "Downloading failed"},
		{name: "stream in fails", action: &models.DownloadAction{From: srv.URL + "/a.tgz", To: "/tmp/app", Artifact: "droplet"}, streamErr: errors.New("disk full"),
			wantErr: "Copying droplet into the container failed: disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeContainer(nil)
			c.streamErr = tt.streamErr
			var out, errLog syncBuffer
			step, err := Build(models.WrapAction(tt.action), Deps{Container: c, Stdout: &out, Stderr: &errLog})
			if err != nil {
				t.Fatal(err)
			}
			err = step.Run(context.Background())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if !strings.Contains(errLog.String(), tt.wantLog) {
					t.Errorf("stderr = %q, want %q", errLog.String(), tt.wantLog)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.streamed["/tmp/app"]; !reflect.DeepEqual(got, files) {
				t.Errorf("streamed %v, want %v", got, files)
			}
			if tt.action.Artifact != "" && !strings.Contains(out.String(), "Downloading droplet...\nDownloaded droplet (") {
				t.Errorf("stdout = %q", out.String())
			}
		})
	}
}

func TestChecksumMismatchError(t *testing.T) {
	tgz := makeTgz(t, map[string]string{"a": "b"})
	srv := newArtifactServer(t, map[string][]byte{"/a.tgz": tgz})
	d := &Downloader{}
	_, _, err := d.Fetch(context.Background(), Artifact{URL: srv.URL + "/a.tgz", ChecksumAlgorithm: "sha1", ChecksumValue: "abc"})
	if !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), "expected abc, got "+hexSum("sha1", tgz)) {
		t.Fatalf("err = %v", err)
	}
}

func TestDownloadCache(t *testing.T) {
	tgz := makeTgz(t, map[string]string{"a": strings.Repeat("x", 1000)})
	other := makeTgz(t, map[string]string{"b": strings.Repeat("y", 2000)})
	srv := newArtifactServer(t, map[string][]byte{"/a.tgz": tgz, "/b.tgz": other})
	dir := t.TempDir()
	cache, err := NewCache(dir, int64(len(tgz)+len(other)/2))
	if err != nil {
		t.Fatal(err)
	}
	d := &Downloader{Cache: cache}
	fetch := func(a Artifact) {
		t.Helper()
		rc, _, err := d.Fetch(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		if _, err := tr.Next(); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	a := Artifact{URL: srv.URL + "/a.tgz", CacheKey: "a", ChecksumAlgorithm: "sha256", ChecksumValue: hexSum("sha256", tgz)}
	fetch(a)
	fetch(a)
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("server hits = %d, want 1 (second fetch from cache)", n)
	}
	// A different cache key is a different entry; without validators
	// (ETag, Last-Modified) or a checksum it is not kept.
	keyed := Artifact{URL: a.URL, CacheKey: "droplet-1"}
	fetch(keyed)
	fetch(keyed)
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("server hits = %d, want 3", n)
	}
	// Without a cache key nothing is cached, even with a checksum (the
	// reference's rule).
	fetch(Artifact{URL: a.URL, ChecksumAlgorithm: "sha256", ChecksumValue: hexSum("sha256", tgz)})
	fetch(Artifact{URL: a.URL})
	if n := srv.hits.Load(); n != 5 {
		t.Fatalf("server hits = %d, want 5", n)
	}
	if cache.Used() > int64(len(tgz)+len(other)/2) {
		t.Fatalf("cache holds %d bytes, over its bound", cache.Used())
	}
	// Fetching a bigger artifact evicts the least recently used entries.
	b := Artifact{URL: srv.URL + "/b.tgz", CacheKey: "b", ChecksumAlgorithm: "md5", ChecksumValue: hexSum("md5", other)}
	fetch(b)
	if cache.Used() > int64(len(tgz)+len(other)/2) {
		t.Fatalf("cache holds %d bytes, over its bound", cache.Used())
	}
	hits := srv.hits.Load()
	fetch(b)
	if srv.hits.Load() != hits {
		t.Error("b was not served from the cache")
	}
	fetch(a)
	if srv.hits.Load() != hits+1 {
		t.Error("a was not evicted")
	}

	// A new Cache over the same directory finds the entries.
	cache2, err := NewCache(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if cache2.Used() != cache.Used() {
		t.Errorf("reopened cache holds %d bytes, want %d", cache2.Used(), cache.Used())
	}
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tmpPrefix) {
			t.Errorf("temp file left behind: %s", de.Name())
		}
	}
}

func TestDownloadTooBigForCache(t *testing.T) {
	tgz := makeTgz(t, map[string]string{"a": "b"})
	srv := newArtifactServer(t, map[string][]byte{"/a.tgz": tgz})
	cache, _ := NewCache(t.TempDir(), 10)
	d := &Downloader{Cache: cache}
	for range 2 {
		rc, _, err := d.Fetch(context.Background(), Artifact{URL: srv.URL + "/a.tgz", CacheKey: "k", ChecksumAlgorithm: "sha1", ChecksumValue: hexSum("sha1", tgz)})
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	if srv.hits.Load() != 2 || cache.Used() != 0 {
		t.Errorf("hits = %d, used = %d", srv.hits.Load(), cache.Used())
	}
}

func TestDownloadCancelled(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	step, _ := Build(models.WrapAction(&models.DownloadAction{From: srv.URL + "/x", To: "/"}), Deps{Container: newFakeContainer(nil)})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := step.Run(ctx); !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v", err)
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 512: "512B", 1024: "1K", 1536: "1.5K", 12 << 20: "12M"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}
