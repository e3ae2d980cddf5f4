package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/actions"
	"github.com/diego-go/diego/src/rep/reptest"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// assetServer serves artifacts by path with ETags, answers conditional
// GETs with 304 and counts full GETs per path.
type assetServer struct {
	*httptest.Server
	mu    sync.Mutex
	blobs map[string][]byte
	gets  map[string]int
}

func newAssetServer(t testing.TB, blobs map[string][]byte) *assetServer {
	s := &assetServer{blobs: blobs, gets: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		b, ok := s.blobs[r.URL.Path]
		etag := fmt.Sprintf("%q", sha256Hex(b))
		if ok && r.Header.Get("If-None-Match") != etag {
			s.gets[r.URL.Path]++
		}
		s.mu.Unlock()
		switch {
		case !ok:
			http.NotFound(w, r)
		case r.Header.Get("If-None-Match") == etag:
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("ETag", etag)
			w.Write(b)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *assetServer) fullGets(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets[path]
}

// appAssets is what a buildpack app needs before it runs: the lifecycle
// (a cached dependency, no checksum, as the Cloud Controller sends it), a
// shared image layer (tar) and an exclusive one (zip).
type appAssets struct {
	srv       *assetServer
	lifecycle *models.CachedDependency
	layers    []*models.ImageLayer
}

func newAppAssets(t testing.TB, launcher string) *appAssets {
	shared := testutil.Tar(t, map[string]testutil.File{"etc/shared.conf": {Body: "shared layer"}})
	exclusive := testutil.Zip(t, map[string]testutil.File{"app/exclusive.txt": {Body: "exclusive layer"}})
	srv := newAssetServer(t, map[string][]byte{
		"/lifecycle.tgz": testutil.Tgz(t, map[string]testutil.File{"launcher": {Body: launcher, Mode: 0o755}}),
		"/shared.tar":    shared,
		"/exclusive.zip": exclusive,
	})
	return &appAssets{
		srv: srv,
		lifecycle: &models.CachedDependency{Name: "buildpack lifecycle", From: srv.URL + "/lifecycle.tgz", To: "/tmp/lifecycle",
			CacheKey: "buildpack-cflinuxfs4-lifecycle"},
		layers: []*models.ImageLayer{
			{Name: "shared", Url: srv.URL + "/shared.tar", DestinationPath: "/", LayerType: models.LayerTypeShared,
				MediaType: models.MediaTypeTar, DigestAlgorithm: models.DigestAlgorithmSha256, DigestValue: sha256Hex(shared)},
			{Name: "exclusive", Url: srv.URL + "/exclusive.zip", DestinationPath: "/", LayerType: models.LayerTypeExclusive,
				MediaType: models.MediaTypeZip, DigestAlgorithm: models.DigestAlgorithmSha256, DigestValue: sha256Hex(exclusive)},
		},
	}
}

// desired is an LRP that runs the lifecycle's launcher.
func (a *appAssets) desired(pg string, launcherArgs ...string) *models.DesiredLRP {
	d := reptest.Sleeper(pg, "test")
	d.CachedDependencies = []*models.CachedDependency{a.lifecycle}
	d.ImageLayers = a.layers
	d.LegacyDownloadUser = "vcap"
	d.Action = models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/launcher", Args: launcherArgs, User: "vcap"})
	return d
}

// containerFile returns the file at path in the container handle.
func (f *cellFixture) containerFile(t testing.TB, handle, path string) string {
	t.Helper()
	c, err := f.d.backend.Lookup(t.Context(), handle)
	if err != nil {
		t.Fatal(err)
	}
	s, err := readResult(t.Context(), c, path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runAssetApps desires n LRPs made by desired and places their instances
// in one batch, as an auction would; it waits for them all to be RUNNING
// with the layers' files in their containers, and checks that each
// artifact was downloaded once for the cell.
func (f *cellFixture) runAssetApps(t *testing.T, a *appAssets, n int, prefix string, desired func(pg string, args ...string) *models.DesiredLRP) {
	t.Helper()
	var work rep.Work
	for i := range n {
		pg := fmt.Sprintf("%s-%d", prefix, i)
		d := desired(pg)
		work.LRPs = append(work.LRPs, reptest.LRP("ig-"+pg, f.h.Desire(t, d), d))
	}
	if rejected, err := f.rc.Perform(f.h.Log, work); err != nil || len(rejected.LRPs) != 0 {
		t.Fatalf("perform: rejected %+v, %v", rejected, err)
	}
	for i := range n {
		pg := fmt.Sprintf("%s-%d", prefix, i)
		f.waitRunning(t, pg, "ig-"+pg)
		for path, want := range map[string]string{"/etc/shared.conf": "shared layer", "/app/exclusive.txt": "exclusive layer"} {
			if got := f.containerFile(t, "ig-"+pg, path); got != want {
				t.Errorf("%s: %s = %q, want %q", pg, path, got, want)
			}
		}
	}
	for _, p := range []string{"/lifecycle.tgz", "/shared.tar", "/exclusive.zip"} {
		if got := a.srv.fullGets(p); got != 1 {
			t.Errorf("%s downloaded %d times for %d instances, want once", p, got, n)
		}
	}
	f.wantOneExtraction(t, n)
}

// wantOneExtraction checks that the cell's cache extracted the lifecycle
// (the one cached dependency bind-mounted, the shared layer at "/" being
// streamed in) once for the n instances using it.
func (f *cellFixture) wantOneExtraction(t *testing.T, n int) {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(f.d.cfg.CachePath, "extracted"))
	if err != nil || len(des) != 1 {
		t.Fatalf("extracted area: %d directories (%v) for %d instances, want 1", len(des), err, n)
	}
}

// TestLRPAssets: three apps placed at once get the lifecycle (a cached
// dependency) and their image layers before their action runs, each
// artifact downloaded once for the cell; a dependency that cannot be
// downloaded crashes the instance with the reference's reason.
func TestLRPAssets(t *testing.T) {
	var out testutil.SyncBuffer
	f := addCell(t, newBBS(t), "cell-assets", func(_ *Settings, o *Options) { o.ContainerOutput = &out })
	a := newAppAssets(t, "#!/bin/sh\nexec sleep 600\n")

	f.runAssetApps(t, a, 3, "pg-assets", a.desired)
	for _, want := range []string{"Downloading buildpack lifecycle...", "Downloaded buildpack lifecycle (", "Downloading shared...", "Downloaded exclusive"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("container output lacks %q:\n%s", want, out.String())
		}
	}

	broken := a.desired("pg-broken")
	broken.CachedDependencies = []*models.CachedDependency{{Name: "buildpack lifecycle", From: a.srv.URL + "/missing.tgz", To: "/tmp/lifecycle", CacheKey: "missing"}}
	f.desireAndPlace(t, broken, "ig-broken")
	f.waitCrash(t, "pg-broken", actions.CachedDependenciesFailed)
	if !strings.Contains(out.String(), "Downloading buildpack lifecycle failed") {
		t.Errorf("container output lacks the failure:\n%s", out.String())
	}

	corrupt := a.desired("pg-corrupt")
	corrupt.ImageLayers = []*models.ImageLayer{{Name: "droplet layer", Url: a.srv.URL + "/exclusive.zip", DestinationPath: "/", LayerType: models.LayerTypeExclusive,
		MediaType: models.MediaTypeZip, DigestAlgorithm: models.DigestAlgorithmSha256, DigestValue: sha256Hex([]byte("other"))}}
	f.desireAndPlace(t, corrupt, "ig-corrupt")
	f.waitCrash(t, "pg-corrupt", "Downloading droplet layer failed")
}

// waitCrash waits for the one instance of pg to have crashed with reason.
func (f *cellFixture) waitCrash(t *testing.T, pg, reason string) {
	t.Helper()
	eventually(t, pg+" to crash", func() (bool, string) {
		lrps := f.actual(t, pg)
		if len(lrps) != 1 || lrps[0].CrashCount < 1 {
			return false, fmt.Sprint(lrps)
		}
		if lrps[0].CrashReason != reason {
			t.Fatalf("crash reason %q, want %q", lrps[0].CrashReason, reason)
		}
		return true, ""
	})
}

// TestTaskAssets: a task gets its cached dependency and image layers, and
// uploads a file it made the reference's way; one whose dependency cannot
// be downloaded fails with the reference's reason.
func TestTaskAssets(t *testing.T) {
	f := newCell(t)
	// The process backend runs processes in the container's directory
	// (the paths streamed in are under it): the launcher reads relative
	// paths.
	a := newAppAssets(t, "#!/bin/sh\ncat etc/shared.conf app/exclusive.txt > \"$1\"\n")
	var mu sync.Mutex
	var uploaded, md5Header string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPost {
			uploaded, md5Header = string(b), r.Header.Get("Content-MD5")
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(up.Close)

	def := taskDef("", "")
	def.CachedDependencies = []*models.CachedDependency{a.lifecycle}
	def.ImageLayers = a.layers
	def.LegacyDownloadUser = "vcap"
	def.Action = models.WrapAction(models.Serial(
		&models.RunAction{Path: "/tmp/lifecycle/launcher", Args: []string{"out.txt"}, User: "vcap"},
		&models.UploadAction{Artifact: "result", From: "/out.txt", To: up.URL + "/upload", User: "vcap"},
	))
	f.placeTask(t, "task-assets", def)
	if task := f.waitTask(t, "task-assets", models.Task_Completed); task.Failed {
		t.Fatalf("task failed: %s", task.FailureReason)
	}
	mu.Lock()
	if uploaded != "shared layerexclusive layer" || md5Header == "" {
		t.Errorf("uploaded %q (Content-MD5 %q)", uploaded, md5Header)
	}
	mu.Unlock()

	bad := taskDef("true", "")
	bad.CachedDependencies = []*models.CachedDependency{{From: a.srv.URL + "/missing.tgz", To: "/tmp/x", CacheKey: "missing"}}
	f.placeTask(t, "task-bad-dep", bad)
	if task := f.waitTask(t, "task-bad-dep", models.Task_Completed); !task.Failed || task.FailureReason != actions.CachedDependenciesFailed {
		t.Fatalf("task: failed %v, reason %q", task.Failed, task.FailureReason)
	}
}

func TestCacheSettings(t *testing.T) {
	valid := Settings{CellID: "c", CAFile: "a", CertFile: "b", KeyFile: "c", BBSAddress: "https://x", BBSCAFile: "a",
		BBSClientCertFile: "b", BBSClientKeyFile: "c", ContainerRootDir: "/data/containers"}.WithDefaults()
	if valid.CachePath != "/data/containers/download-cache" || valid.MaxCacheSizeInBytes != DefaultMaxCacheSizeInBytes ||
		valid.MaxConcurrentDownloads != 5 || valid.MaxConcurrentUploads != 5 {
		t.Fatalf("defaults: cache_path %q, max_cache_size_in_bytes %d", valid.CachePath, valid.MaxCacheSizeInBytes)
	}
	if err := valid.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		change func(*Settings)
		want   string
	}{
		{func(s *Settings) { s.CachePath = "cache" }, "cache_path must be an absolute path"},
		{func(s *Settings) { s.MaxCacheSizeInBytes = -1 }, "max_cache_size_in_bytes, max_concurrent_downloads and max_concurrent_uploads must not be negative"},
		{func(s *Settings) { s.MaxConcurrentUploads = -1 }, "must not be negative"},
	} {
		s := valid
		tc.change(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
	}
}
