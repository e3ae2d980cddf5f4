package actions

import (
	"archive/tar"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
)

// etagServer serves one artifact with an ETag, answering conditional GETs
// with 304, and counts full and conditional requests. hold, when set,
// blocks full responses until it is closed.
type etagServer struct {
	*httptest.Server
	mu          sync.Mutex
	body        []byte
	etag        string
	hold        chan struct{}
	full, cond  atomic.Int64
	inFullCount atomic.Int64
}

func newETagServer(t *testing.T, body []byte) *etagServer {
	s := &etagServer{body: body, etag: `"v1"`}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		body, etag, hold := s.body, s.etag, s.hold
		s.mu.Unlock()
		if r.Header.Get("If-None-Match") == etag {
			s.cond.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		s.full.Add(1)
		s.inFullCount.Add(1)
		if hold != nil {
			<-hold
		}
		w.Header().Set("ETag", etag)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *etagServer) set(body []byte, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag = body, etag
}

// releaseWhenWaiting lets the held full response go once it has started
// and waiters callers wait in cache for it.
func (s *etagServer) releaseWhenWaiting(t *testing.T, cache *Cache, waiters int) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, "one download and its waiters", func() bool {
		cache.mu.Lock()
		defer cache.mu.Unlock()
		return s.inFullCount.Load() == 1 && cache.waiting == waiters
	})
	close(s.hold)
}

func fetchFile(t *testing.T, d *Downloader, a Artifact) (name string, size int64) {
	t.Helper()
	rc, size, err := d.Fetch(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdr, err := tar.NewReader(rc).Next()
	if err != nil {
		t.Fatal(err)
	}
	return hdr.Name, size
}

// TestFetchConcurrentStartsOneGET: N instances fetching the same cached
// artifact at once cost one GET; later fetches revalidate with a
// conditional GET and use the cached copy (size 0) until the artifact
// changes.
func TestFetchConcurrentStartsOneGET(t *testing.T) {
	const n = 8
	srv := newETagServer(t, makeTgz(t, map[string]string{"lifecycle/launcher": "v1"}))
	srv.hold = make(chan struct{})
	cache, err := NewCache(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	d := &Downloader{Cache: cache}
	a := Artifact{URL: srv.URL + "/lifecycle.tgz", CacheKey: "buildpack-cflinuxfs4-lifecycle"}
	var wg sync.WaitGroup
	names := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, _, err := d.Fetch(context.Background(), a)
			if err != nil {
				errs[i] = err
				return
			}
			defer rc.Close()
			hdr, err := tar.NewReader(rc).Next()
			if err == nil {
				names[i] = hdr.Name
			}
			errs[i] = err
		}()
	}
	srv.releaseWhenWaiting(t, cache, n-1)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || names[i] != "lifecycle/launcher" {
			t.Fatalf("fetch %d: %q, %v", i, names[i], errs[i])
		}
	}
	if f, c := srv.full.Load(), srv.cond.Load(); f != 1 || c != 0 {
		t.Fatalf("%d instances started at once: %d GETs and %d conditional GETs, want 1 and 0", n, f, c)
	}

	// A later start revalidates: 304, the cached copy, no size.
	if name, size := fetchFile(t, d, a); name != "lifecycle/launcher" || size != 0 {
		t.Fatalf("revalidated fetch: %q size %d", name, size)
	}
	if f, c := srv.full.Load(), srv.cond.Load(); f != 1 || c != 1 {
		t.Fatalf("after revalidation: %d GETs, %d conditional, want 1 and 1", f, c)
	}

	// The artifact changed on the server: the new one replaces the entry.
	srv.set(makeTgz(t, map[string]string{"lifecycle/v2": "v2"}), `"v2"`)
	if name, size := fetchFile(t, d, a); name != "lifecycle/v2" || size == 0 {
		t.Fatalf("changed artifact: %q size %d", name, size)
	}
	if name, _ := fetchFile(t, d, a); name != "lifecycle/v2" {
		t.Fatalf("cached changed artifact: %q", name)
	}

	// A new Cache over the same directory keeps the validators.
	cache2, err := NewCache(cache.dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	before := srv.full.Load()
	if name, size := fetchFile(t, &Downloader{Cache: cache2}, a); name != "lifecycle/v2" || size != 0 || srv.full.Load() != before {
		t.Fatalf("after restart: %q size %d, GETs %d -> %d", name, size, before, srv.full.Load())
	}
}

// TestFetchWaiterCancelled: a fetch waiting for another download of the
// same artifact gives up when its context ends.
func TestFetchWaiterCancelled(t *testing.T) {
	srv := newETagServer(t, makeTgz(t, map[string]string{"a": "b"}))
	srv.hold = make(chan struct{})
	cache, _ := NewCache(t.TempDir(), 1<<20)
	d := &Downloader{Cache: cache}
	a := Artifact{URL: srv.URL + "/a.tgz", CacheKey: "k"}
	first := make(chan error, 1)
	go func() {
		rc, _, err := d.Fetch(context.Background(), a)
		if err == nil {
			rc.Close()
		}
		first <- err
	}()
	testutil.WaitFor(t, 10*time.Second, "the first download", func() bool { return srv.inFullCount.Load() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		_, _, err := d.Fetch(ctx, a)
		second <- err
	}()
	testutil.WaitFor(t, 10*time.Second, "a waiter", func() bool {
		cache.mu.Lock()
		defer cache.mu.Unlock()
		return cache.waiting == 1
	})
	cancel()
	if err := <-second; err == nil {
		t.Fatal("cancelled waiter fetched")
	}
	close(srv.hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// TestCacheLRU: entries are evicted least recently used first to stay
// under the bound.
func TestCacheLRU(t *testing.T) {
	blobs := map[string][]byte{}
	for i := range 4 {
		blobs[fmt.Sprintf("/%d.tgz", i)] = makeTgz(t, map[string]string{fmt.Sprint(i): string(make([]byte, 4000+i))})
	}
	srv := newArtifactServer(t, blobs)
	size := int64(len(blobs["/0.tgz"]))
	cache, _ := NewCache(t.TempDir(), 3*size+size/2) // room for three
	d := &Downloader{Cache: cache}
	art := func(i int) Artifact {
		b := blobs[fmt.Sprintf("/%d.tgz", i)]
		return Artifact{URL: fmt.Sprintf("%s/%d.tgz", srv.URL, i), CacheKey: fmt.Sprint(i), ChecksumAlgorithm: "sha256", ChecksumValue: hexSum("sha256", b)}
	}
	for i := range 3 {
		fetchFile(t, d, art(i))
	}
	fetchFile(t, d, art(0)) // 0 is now the most recently used; 1 the least
	fetchFile(t, d, art(3)) // evicts 1
	hits := srv.hits.Load()
	for _, i := range []int{0, 2, 3} {
		if _, size := fetchFile(t, d, art(i)); size != 0 {
			t.Errorf("artifact %d was downloaded again", i)
		}
	}
	if srv.hits.Load() != hits {
		t.Fatalf("cached artifacts were downloaded again")
	}
	if _, size := fetchFile(t, d, art(1)); size == 0 || srv.hits.Load() != hits+1 {
		t.Fatalf("artifact 1 was not evicted")
	}
	if cache.Used() > 3*size+size/2 {
		t.Fatalf("cache holds %d bytes, over its bound", cache.Used())
	}
}

// TestSlots: transfers wait for a free slot; a waiter gives up when its
// context ends; a Downloader whose slots are taken does not download.
func TestSlots(t *testing.T) {
	s := NewSlots(1)
	release, err := s.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.acquire(ctx); err == nil {
		t.Fatal("acquired a slot that was taken")
	}
	if NewSlots(0) != nil {
		t.Fatal("NewSlots(0) bounds transfers")
	}

	srv := newArtifactServer(t, map[string][]byte{"/a.tgz": makeTgz(t, map[string]string{"a": "b"})})
	d := &Downloader{Slots: s}
	done := make(chan error, 1)
	go func() {
		rc, _, err := d.Fetch(context.Background(), Artifact{URL: srv.URL + "/a.tgz"})
		if err == nil {
			rc.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("fetched while the only slot was taken: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if srv.hits.Load() != 0 {
		t.Fatal("downloaded while the only slot was taken")
	}
	release()
	if err := <-done; err != nil || srv.hits.Load() != 1 {
		t.Fatalf("after the slot was freed: %v, %d hits", err, srv.hits.Load())
	}
}
