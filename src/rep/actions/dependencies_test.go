package actions

import (
	"context"
	"errors"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"
)

// TestFetchDependencies streams cached dependencies (tgz, zip, tar) into a
// process-backend container, from the cache the second time, and fails
// with the reference's reason when one cannot be downloaded.
func TestFetchDependencies(t *testing.T) {
	lifecycle := makeTgz(t, map[string]string{"launcher": "#!/bin/sh\n"})
	layer := makeZip(t, map[string]string{"etc/layer.conf": "zip layer"})
	plain := makeTar(t, map[string]string{"plain.txt": "tar"})
	srv := newTaggedArtifactServer(t, map[string][]byte{"/lifecycle.tgz": lifecycle, "/layer.zip": layer, "/plain.tar": plain})
	cache, err := NewCache(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	deps := []*models.CachedDependency{
		{Name: "buildpack lifecycle", From: srv.URL + "/lifecycle.tgz", To: "/tmp/lifecycle", CacheKey: "buildpack-cflinuxfs4-lifecycle",
			ChecksumAlgorithm: "sha256", ChecksumValue: hexSum("sha256", lifecycle)},
		{Name: "layer", From: srv.URL + "/layer.zip", To: "/", CacheKey: "sha256:" + hexSum("sha256", layer),
			ChecksumAlgorithm: "sha256", ChecksumValue: hexSum("sha256", layer)},
		{From: srv.URL + "/plain.tar", To: "/home/vcap", CacheKey: "plain", ChecksumAlgorithm: "md5", ChecksumValue: hexSum("md5", plain)},
	}
	ctx := context.Background()
	for round := range 2 {
		c := newProcessContainer(t)
		var out syncBuffer
		if err := FetchDependencies(ctx, Deps{Container: c, Stdout: &out, Downloader: &Downloader{Cache: cache}}, deps); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for path, want := range map[string]string{"/tmp/lifecycle/launcher": "#!/bin/sh\n", "/etc/layer.conf": "zip layer", "/home/vcap/plain.txt": "tar"} {
			if got := readContainerFile(t, c, path); got != want {
				t.Errorf("round %d: %s = %q, want %q", round, path, got, want)
			}
		}
		wantLine := "Downloaded buildpack lifecycle ("
		if round == 1 {
			wantLine = "Downloaded buildpack lifecycle\n" // from the cache
		}
		if s := out.String(); !strings.Contains(s, "Downloading buildpack lifecycle...\n") || !strings.Contains(s, wantLine) || strings.Contains(s, "plain") {
			t.Errorf("round %d: output %q", round, s)
		}
	}
	if n := srv.hits.Load(); n != 3 {
		t.Errorf("server hits = %d, want 3 (the second container from the cache)", n)
	}

	bad := append([]*models.CachedDependency{{Name: "missing", From: srv.URL + "/nope.tgz", To: "/tmp/x", CacheKey: "nope"}}, deps...)
	mismatch := []*models.CachedDependency{{Name: "corrupt", From: srv.URL + "/layer.zip", To: "/tmp/x", CacheKey: "corrupt", ChecksumAlgorithm: "sha256", ChecksumValue: hexSum("sha256", plain)}}
	for _, cds := range [][]*models.CachedDependency{bad, mismatch} {
		var out syncBuffer
		err := FetchDependencies(ctx, Deps{Container: newProcessContainer(t), Stdout: &out, Downloader: &Downloader{Cache: cache}}, cds)
		var em *EmittableError
		if !errors.As(err, &em) || err.Error() != CachedDependenciesFailed {
			t.Fatalf("err = %v, want %q", err, CachedDependenciesFailed)
		}
		if want := "Downloading " + cds[0].Name + " failed\n"; !strings.Contains(out.String(), want) {
			t.Errorf("output %q, want %q", out.String(), want)
		}
	}
}

// TestDependencyNotCacheable: as the reference fetches a cached dependency
// as a cached directory, one whose response has neither ETag nor
// Last-Modified fails, checksum or not, and so does one without a cache
// key; the container fails with CachedDependenciesFailed, nothing is kept.
func TestDependencyNotCacheable(t *testing.T) {
	arc := makeTgz(t, map[string]string{"launcher": "#!/bin/sh\n"})
	untagged := newArtifactServer(t, map[string][]byte{"/l.tgz": arc})
	tagged := newTaggedArtifactServer(t, map[string][]byte{"/l.tgz": arc})
	cache, err := NewCache(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sum := hexSum("sha256", arc)
	for _, tc := range []struct {
		cd   *models.CachedDependency
		want error
	}{
		{&models.CachedDependency{Name: "no headers", From: untagged.URL + "/l.tgz", To: "/tmp/l", CacheKey: "k1"}, ErrMissingCacheHeaders},
		{&models.CachedDependency{Name: "no headers, checksum", From: untagged.URL + "/l.tgz", To: "/tmp/l", CacheKey: "k2",
			ChecksumAlgorithm: "sha256", ChecksumValue: sum}, ErrMissingCacheHeaders},
		{&models.CachedDependency{Name: "no headers at /", From: untagged.URL + "/l.tgz", To: "/", CacheKey: "k3"}, ErrMissingCacheHeaders},
		{&models.CachedDependency{Name: "no key", From: tagged.URL + "/l.tgz", To: "/tmp/l"}, ErrMissingCacheKey},
	} {
		var out syncBuffer
		deps := Deps{Stdout: &out, Downloader: &Downloader{Cache: cache}}
		_, _, _, derr := deps.Downloader.FetchDir(context.Background(), artifactOf(tc.cd))
		var m *Mounted
		if tc.cd.To == "/" { // streamed in, but fetched as the reference's directory
			deps.Container = newProcessContainer(t)
			err = FetchDependencies(context.Background(), deps, []*models.CachedDependency{tc.cd})
		} else {
			m, err = MountDependencies(context.Background(), deps, []*models.CachedDependency{tc.cd})
		}
		if m != nil || err == nil || err.Error() != CachedDependenciesFailed || !errors.Is(derr, tc.want) {
			t.Errorf("%s: %v, %v (fetch: %v); want %q (fetch: %v)", tc.cd.Name, m, err, derr, CachedDependenciesFailed, tc.want)
		}
		if want := "Downloading " + tc.cd.Name + " failed\n"; !strings.Contains(out.String(), want) {
			t.Errorf("%s: output %q, want %q", tc.cd.Name, out.String(), want)
		}
	}
	if cache.Used() != 0 {
		t.Errorf("the cache keeps %d bytes of dependencies it refused", cache.Used())
	}
	// With an ETag the same artifact is kept and mounted.
	m, err := MountDependencies(context.Background(), Deps{Downloader: &Downloader{Cache: cache}}, []*models.CachedDependency{
		{From: tagged.URL + "/l.tgz", To: "/tmp/l", CacheKey: "k1", ChecksumAlgorithm: "sha256", ChecksumValue: sum}})
	if err != nil || len(m.Mounts) != 1 || cache.Used() == 0 {
		t.Fatalf("tagged: %+v, %v (cache %d bytes)", m, err, cache.Used())
	}
	m.Release()
}
