package releasetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/tools/deploylocal"
)

// TestReleaseTarball builds the release with ci/dev/release.sh (in a copy of
// the working tree, so that src/_release, blobs/ and dev_releases/ never
// appear in the checkout), then compiles every package of the tarball the way
// a BOSH compilation VM does: in dependency order, its sources alone in an
// empty directory, `bash -x packaging` under `env -i` with no network
// (GOPROXY=off) and BOSH_PACKAGES_DIR pointing at the already compiled
// dependencies. Then the binaries run (-version).
func TestReleaseTarball(t *testing.T) {
	if os.Getenv("DIEGO_RELEASETEST_SKIP_TARBALL") != "" {
		t.Skip("DIEGO_RELEASETEST_SKIP_TARBALL is set")
	}
	bosh := boshCLI(t)
	work := t.TempDir()
	// read-only files (Go's module cache, compiled trees) must not stop
	// TempDir's removal; cleanups run last-in first-out, so this runs first
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", work).Run() })
	start := time.Now()

	// 1. ci/dev/release.sh in a copy of the working tree
	tarball := filepath.Join(work, "diego-go.tgz")
	if err := deploylocal.BuildTarball(repo, bosh, tarball, t.Logf); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(tarball)
	if err != nil {
		t.Fatalf("ci/dev/release.sh wrote no tarball: %v", err)
	}
	t.Logf("release tarball: %.1f MB", float64(fi.Size())/1e6)

	// 2. every package compiled alone, offline, in dependency order, into
	// an empty packages dir. The Go packages share their build cache under
	// <packages dir>/../data/golang-1-linux/cache (the toolchain's
	// compile.env); unless DIEGO_RELEASETEST_COLD is set that cache is kept
	// in the user's cache dir, so later runs reuse compiled objects (sources
	// still come from the tarball alone). Go's cache does not change outputs.
	pkgs := filepath.Join(work, "vcap", "packages")
	if dir, err := os.UserCacheDir(); err == nil && os.Getenv("DIEGO_RELEASETEST_COLD") == "" {
		shared := filepath.Join(dir, "diego-releasetest-gocache")
		data := filepath.Join(work, "vcap", "data", "golang-1-linux")
		if err := os.MkdirAll(shared, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(shared, filepath.Join(data, "cache")); err != nil {
			t.Fatal(err)
		}
	}
	mf, err := deploylocal.CompilePackages(tarball, pkgs, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	jobDirs, _ := filepath.Glob(filepath.Join(repo, "jobs", "*", "spec"))
	if len(mf.Jobs) != len(jobDirs) {
		t.Errorf("release.MF has %d jobs, jobs/ has %d", len(mf.Jobs), len(jobDirs))
	}

	// 3. the binaries run
	for _, b := range []struct{ bin, arg string }{
		{"bbs", "-version"}, {"locket", "-version"}, {"auctioneer", "-version"}, {"rep", "-version"}, {"route-emitter", "-version"}, {"ssh-proxy", "-version"}, {"diego", "help"},
		{"file-server", "-version"}, {"hub", "-version"},
	} {
		found, _ := filepath.Glob(filepath.Join(pkgs, "*", "bin", b.bin))
		if len(found) == 0 {
			t.Errorf("no compiled package has bin/%s", b.bin)
			continue
		}
		out, err := exec.Command(found[0], b.arg).CombinedOutput()
		if err != nil {
			t.Errorf("%s %s: %v\n%s", relTo(pkgs, found[0]), b.arg, err, tail(out))
			continue
		}
		first, _, _ := strings.Cut(string(out), "\n")
		t.Logf("%s %s: %s", relTo(pkgs, found[0]), b.arg, first)
	}
	checkSSHDBundle(t, filepath.Join(pkgs, "diego-sshd", "diego-sshd.tgz"))
	checkHubUI(t, tarball)
	t.Logf("release tarball test: %s in all", time.Since(start).Round(time.Millisecond))
}

func tail(b []byte) string {
	const max = 6000
	if len(b) > max {
		return "...\n" + string(b[len(b)-max:])
	}
	return string(b)
}

// checkSSHDBundle: the diego-sshd package's lifecycle bundle holds exactly
// one executable file, diego-sshd, a static ELF (no program interpreter: it
// runs in any container rootfs).
func checkSSHDBundle(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("the diego-sshd package has no lifecycle bundle: %v", err)
		return
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		names = append(names, hdr.Name)
		if hdr.Name != "diego-sshd" {
			continue
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Mode&0o111 == 0 {
			t.Errorf("%s: diego-sshd is not an executable file (type %c, mode %o)", path, hdr.Typeflag, hdr.Mode)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		ef, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: diego-sshd is not an ELF binary: %v", path, err)
			continue
		}
		for _, p := range ef.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: diego-sshd is dynamically linked (it has a program interpreter): build it with CGO_ENABLED=0", path)
			}
		}
		t.Logf("%s: diego-sshd, %.1f MB, static", filepath.Base(path), float64(len(b))/1e6)
	}
	if len(names) != 1 || names[0] != "diego-sshd" {
		t.Errorf("%s holds %v, want only diego-sshd", path, names)
	}
}

// checkHubUI: the hub and diego-cli packages carry src/hub/ui/dist (their
// binaries embed it), built by ci/dev/release.sh when the UI's sources are
// in the tree (index.html), else only its .keep.
func checkHubUI(t *testing.T, tarball string) {
	t.Helper()
	want := "hub/ui/dist/.keep"
	if _, err := os.Stat(filepath.Join(repo, "src", "hub", "ui", "package.json")); err == nil {
		want = "hub/ui/dist/index.html"
	}
	rel := t.TempDir()
	if err := deploylocal.Untar(tarball, rel); err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"hub", "diego-cli"} {
		src := filepath.Join(t.TempDir(), pkg)
		if err := deploylocal.Untar(filepath.Join(rel, "packages", pkg+".tgz"), src); err != nil {
			t.Errorf("packages/%s.tgz: %v", pkg, err)
			continue
		}
		if _, err := os.Stat(filepath.Join(src, want)); err != nil {
			t.Errorf("the %s package has no %s: %v", pkg, want, err)
		}
	}
}
