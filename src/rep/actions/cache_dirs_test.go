package actions

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// fetchDir is FetchDir failing the test on an error.
func fetchDir(t *testing.T, d *Downloader, a Artifact) (string, int64, func()) {
	t.Helper()
	dir, size, release, err := d.FetchDir(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return dir, size, release
}

// extractedDirs lists the extracted area of the cache in dir.
func extractedDirs(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(dir, extractedArea))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, filepath.Join(dir, extractedArea, de.Name()))
	}
	return names
}

func wantFile(t *testing.T, path, want string) {
	t.Helper()
	if b, err := os.ReadFile(path); err != nil || string(b) != want {
		t.Errorf("%s = %q, %v; want %q", path, b, err, want)
	}
}

func wantGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s still exists (%v)", path, err)
	}
}

// TestFetchDirShared: instances fetching a cached dependency at once share
// one extraction of one GET; a later one revalidates and shares it too;
// when the artifact changes the next gets a new directory, and the old one
// is removed only when its last user releases it.
func TestFetchDirShared(t *testing.T) {
	const n = 4
	srv := newETagServer(t, makeTgz(t, map[string]string{"launcher": "v1"}))
	srv.hold = make(chan struct{})
	cacheDir := t.TempDir()
	cache, err := NewCache(cacheDir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	d := &Downloader{Cache: cache}
	a := Artifact{URL: srv.URL + "/lifecycle.tgz", CacheKey: "lifecycle"}

	dirs, sizes, releases := make([]string, n+1), make([]int64, n+1), make([]func(), n+1)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], sizes[i], releases[i] = fetchDir(t, d, a)
		}()
	}
	srv.releaseWhenWaiting(t, cache, n-1)
	wg.Wait()
	dirs[n], sizes[n], releases[n] = fetchDir(t, d, a) // revalidated
	downloaded := 0
	for i := range dirs {
		if dirs[i] != dirs[0] {
			t.Fatalf("dirs %v: want one for all", dirs)
		}
		if sizes[i] > 0 {
			downloaded++
		}
	}
	if full, cond := srv.full.Load(), srv.cond.Load(); full != 1 || cond != 1 || downloaded != 1 {
		t.Fatalf("full GETs %d, conditional %d, sizes %v: want 1, 1 and one download", full, cond, sizes)
	}
	if got := extractedDirs(t, cacheDir); len(got) != 1 || got[0] != dirs[0] {
		t.Fatalf("extracted area %v, want just %s", got, dirs[0])
	}
	wantFile(t, filepath.Join(dirs[0], "launcher"), "v1")

	srv.set(makeTgz(t, map[string]string{"launcher": "v2"}), `"v2"`)
	v2, _, releaseV2 := fetchDir(t, d, a)
	if v2 == dirs[0] {
		t.Fatal("a changed artifact got the old directory")
	}
	wantFile(t, filepath.Join(v2, "launcher"), "v2")
	for _, release := range releases {
		wantFile(t, filepath.Join(dirs[0], "launcher"), "v1") // still used
		release()
		release() // a second release of the same use does nothing
	}
	wantGone(t, dirs[0])
	releaseV2()
	wantFile(t, filepath.Join(v2, "launcher"), "v2") // kept for the next container
	if used := cache.Used(); used <= 2 {
		t.Errorf("cache used %d: the directory should count", used)
	}
}

// TestFetchDirEviction: an entry whose directory a container uses is not
// evicted (what does not fit then gets a directory of its own, removed at
// release); once released it is evicted with its directory.
func TestFetchDirEviction(t *testing.T) {
	random := func() string {
		b := make([]byte, 3000)
		rand.Read(b)
		return string(b)
	}
	arcA, arcB := makeTgz(t, map[string]string{"a": random()}), makeTgz(t, map[string]string{"b": random()})
	srv := newTaggedArtifactServer(t, map[string][]byte{"/a.tgz": arcA, "/b.tgz": arcB})
	cacheDir := t.TempDir()
	cache, err := NewCache(cacheDir, int64(len(arcA))+3000+2000) // room for one entry with its directory
	if err != nil {
		t.Fatal(err)
	}
	d := &Downloader{Cache: cache}
	a := Artifact{URL: srv.URL + "/a.tgz", CacheKey: "a", ChecksumAlgorithm: "sha256", ChecksumValue: hexSum("sha256", arcA)}
	b := Artifact{URL: srv.URL + "/b.tgz", CacheKey: "b", ChecksumAlgorithm: "sha256", ChecksumValue: hexSum("sha256", arcB)}

	dirA, _, releaseA := fetchDir(t, d, a)
	dirB, _, releaseB := fetchDir(t, d, b)
	if _, err := os.Stat(filepath.Join(dirA, "a")); err != nil {
		t.Fatalf("a's directory was removed while in use: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dirB, "b")); err != nil {
		t.Fatal(err)
	}
	releaseB()
	wantGone(t, dirB) // not kept: a is in use
	releaseA()
	if again, size, release := fetchDir(t, d, a); again != dirA || size != 0 {
		t.Fatalf("a: dir %s size %d, want the cached %s", again, size, dirA)
	} else {
		release()
	}

	dirB2, _, releaseB2 := fetchDir(t, d, b)
	wantGone(t, dirA) // evicted with its entry
	releaseB2()
	if got := extractedDirs(t, cacheDir); len(got) != 1 || got[0] != dirB2 {
		t.Fatalf("extracted area %v, want just %s", got, dirB2)
	}
	if used, max := cache.Used(), int64(len(arcA))+5000; used > max {
		t.Errorf("cache used %d over its bound %d", used, max)
	}
}

// TestFetchDirRestart: a new cache on the same path (the rep restarted)
// serves a kept directory without a GET or an extraction, and removes the
// directories no entry keeps.
func TestFetchDirRestart(t *testing.T) {
	arc := makeTgz(t, map[string]string{"bin/launcher": "v1"})
	srv := newTaggedArtifactServer(t, map[string][]byte{"/l.tgz": arc})
	cacheDir := t.TempDir()
	cache, err := NewCache(cacheDir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	a := Artifact{URL: srv.URL + "/l.tgz", CacheKey: "l", ChecksumAlgorithm: "sha256", ChecksumValue: hexSum("sha256", arc)}
	dir, _, release := fetchDir(t, &Downloader{Cache: cache}, a)
	release()
	stray := filepath.Join(cacheDir, extractedArea, "dir-interrupted")
	if err := os.MkdirAll(filepath.Join(stray, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	used := cache.Used()

	cache, err = NewCache(cacheDir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := cache.Used(); got != used {
		t.Errorf("used %d after the restart, want %d", got, used)
	}
	wantGone(t, stray)
	again, size, release := fetchDir(t, &Downloader{Cache: cache}, a)
	defer release()
	if again != dir || size != 0 || srv.hits.Load() != 1 {
		t.Fatalf("after restart: dir %s size %d hits %d, want %s, 0, 1", again, size, srv.hits.Load(), dir)
	}
	wantFile(t, filepath.Join(dir, "bin/launcher"), "v1")
}
