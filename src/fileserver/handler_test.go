package fileserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/src/fileserver"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/actions"
)

// statusLog records the status of every response the server sent.
type statusLog struct {
	mu       sync.Mutex
	statuses []int
}

func (l *statusLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		l.mu.Lock()
		l.statuses = append(l.statuses, rec.status)
		l.mu.Unlock()
	})
}

func (l *statusLog) all() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.statuses...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// serveDir writes files under a fresh static directory and serves it.
func serveDir(t testing.TB, files map[string][]byte) (dir string, srv *httptest.Server, log *statusLog) {
	t.Helper()
	dir = t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log = &statusLog{}
	srv = httptest.NewServer(log.wrap(fileserver.NewHandler(dir)))
	t.Cleanup(srv.Close)
	return dir, srv, log
}

func do(t *testing.T, method, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// TestServeFile: GET and HEAD carry the content's sha256 as ETag and the
// file's Last-Modified; conditional GETs get 304 and a Range 206.
func TestServeFile(t *testing.T) {
	const body = "buildpack lifecycle bytes"
	dir, srv, _ := serveDir(t, map[string][]byte{"buildpack_app_lifecycle/buildpack_app_lifecycle.tgz": []byte(body)})
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "buildpack_app_lifecycle/buildpack_app_lifecycle.tgz"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/v1/static/buildpack_app_lifecycle/buildpack_app_lifecycle.tgz"
	lastMod := mtime.Format(http.TimeFormat)

	resp, got := do(t, http.MethodGet, url, nil)
	if resp.StatusCode != 200 || got != body || resp.Header.Get("ETag") != sha(body) || resp.Header.Get("Last-Modified") != lastMod {
		t.Fatalf("GET: %s %q ETag %q Last-Modified %q", resp.Status, got, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"))
	}
	resp, got = do(t, http.MethodHead, url, nil)
	if resp.StatusCode != 200 || got != "" || resp.ContentLength != int64(len(body)) || resp.Header.Get("ETag") != sha(body) {
		t.Fatalf("HEAD: %s %q length %d ETag %q", resp.Status, got, resp.ContentLength, resp.Header.Get("ETag"))
	}
	for name, h := range map[string]map[string]string{
		"If-None-Match":     {"If-None-Match": sha(body)},
		"If-Modified-Since": {"If-Modified-Since": lastMod},
	} {
		if resp, got := do(t, http.MethodGet, url, h); resp.StatusCode != http.StatusNotModified || got != "" {
			t.Errorf("%s: %s %q; want 304", name, resp.Status, got)
		}
	}
	if resp, got := do(t, http.MethodGet, url, map[string]string{"If-None-Match": `"stale"`}); resp.StatusCode != 200 || got != body {
		t.Errorf("stale If-None-Match: %s %q", resp.Status, got)
	}
	resp, got = do(t, http.MethodGet, url, map[string]string{"Range": "bytes=10-18"})
	if resp.StatusCode != http.StatusPartialContent || got != body[10:19] || resp.Header.Get("Content-Range") != "bytes 10-18/25" {
		t.Fatalf("Range: %s %q %q", resp.Status, got, resp.Header.Get("Content-Range"))
	}
}

// TestChecksumFollowsContent: a replaced file gets a new ETag.
func TestChecksumFollowsContent(t *testing.T) {
	dir, srv, _ := serveDir(t, map[string][]byte{"a.tgz": []byte("one")})
	url := srv.URL + "/v1/static/a.tgz"
	if resp, _ := do(t, http.MethodGet, url, nil); resp.Header.Get("ETag") != sha("one") {
		t.Fatalf("ETag %q", resp.Header.Get("ETag"))
	}
	if err := os.WriteFile(filepath.Join(dir, "a.tgz"), []byte("second"), 0o644); err != nil {
		t.Fatal(err)
	}
	if resp, got := do(t, http.MethodGet, url, map[string]string{"If-None-Match": sha("one")}); resp.StatusCode != 200 || got != "second" || resp.Header.Get("ETag") != sha("second") {
		t.Fatalf("after change: %s %q ETag %q", resp.Status, got, resp.Header.Get("ETag"))
	}
}

// TestRefused: traversal, directories, missing files, other routes and
// methods are refused with the reference's statuses and messages.
func TestRefused(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "static")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fileserver.NewHandler(dir))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		method, path string
		status       int
		msg          string
	}{
		{"GET", "/v1/static/../secret", 400, "invalid URL path"},
		{"GET", "/v1/static/sub/%2e%2e/../secret", 400, "invalid URL path"},
		{"GET", "/v1/static/..%5csecret", 400, "invalid URL path"},
		{"GET", "/v1/static/", 401, "Unauthorized to list the directory"},
		{"GET", "/v1/static/sub/", 401, "Unauthorized to list the directory"},
		{"GET", "/v1/static/nope.tgz", 404, "File not found: nope.tgz"},
		{"GET", "/secret", 404, "404 page not found"},
		{"POST", "/v1/static/sub", 405, "method not allowed"},
	} {
		resp, got := do(t, tc.method, srv.URL+tc.path, nil)
		if resp.StatusCode != tc.status || !strings.Contains(got, tc.msg) {
			t.Errorf("%s %s: %s %q; want %d %q", tc.method, tc.path, resp.Status, got, tc.status, tc.msg)
		}
	}
}

// TestRepDownloadCacheRevalidates: the rep's download cache fetches a
// cached dependency from the file server, then revalidates it with the
// ETag (304, no body) and serves its cached copy.
func TestRepDownloadCacheRevalidates(t *testing.T) {
	bundle := testutil.Tgz(t, testutil.Files(map[string]string{"lifecycle/launcher": "v1"}))
	_, srv, log := serveDir(t, map[string][]byte{"lifecycle.tgz": bundle})
	cache, err := actions.NewCache(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	d := &actions.Downloader{Cache: cache}
	a := actions.Artifact{URL: srv.URL + "/v1/static/lifecycle.tgz", CacheKey: "buildpack-lifecycle", Dir: true}
	// fetch returns the launcher's content and the bytes downloaded.
	fetch := func() (string, int64) {
		rc, size, err := d.Fetch(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		return testutil.ReadTar(t, rc)["lifecycle/launcher"].Body, size
	}
	if launcher, size := fetch(); launcher != "v1" || size != int64(len(bundle)) {
		t.Fatalf("first fetch: launcher %q, %d bytes", launcher, size)
	}
	if launcher, size := fetch(); launcher != "v1" || size != 0 {
		t.Fatalf("second fetch: launcher %q, %d bytes; want the cached copy", launcher, size)
	}
	if got := log.all(); len(got) != 2 || got[0] != 200 || got[1] != http.StatusNotModified {
		t.Fatalf("statuses %v; want [200 304]", got)
	}
}

// BenchmarkGet10MB: sequential GETs of a 10 MB bundle over loopback.
func BenchmarkGet10MB(b *testing.B) {
	body := make([]byte, 10<<20)
	for i := range body {
		body[i] = byte(i * 7)
	}
	_, srv, _ := serveDir(b, map[string][]byte{"big.tgz": body})
	url := srv.URL + "/v1/static/big.tgz"
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for range b.N {
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != int64(len(body)) {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
}
