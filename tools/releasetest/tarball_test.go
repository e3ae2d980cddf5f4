package releasetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/diego-go/diego/tools/deploylocal"
)

// TestReleaseTarball builds the release with scripts/release.sh (in a copy of
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

	// 1. a copy of the working tree (tracked and untracked, not ignored files)
	tree := filepath.Join(work, "repo")
	copyWorkingTree(t, tree)
	t.Logf("copied the working tree in %s", time.Since(start).Round(time.Millisecond))

	// 2. scripts/release.sh
	step := time.Now()
	tarball := filepath.Join(work, "diego-go.tgz")
	cmd := exec.Command("bash", "scripts/release.sh", "--tarball", tarball)
	cmd.Dir = tree
	cmd.Env = append(os.Environ(), "BOSH_CLI="+bosh, "DIEGO_RELEASE_CACHE="+filepath.Join(repo, ".cache", "release"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release.sh --tarball %s: %v\n%s", tarball, err, tail(out))
	}
	fi, err := os.Stat(tarball)
	if err != nil {
		t.Fatalf("scripts/release.sh wrote no tarball: %v", err)
	}
	t.Logf("scripts/release.sh: %s, %.1f MB", time.Since(step).Round(time.Millisecond), float64(fi.Size())/1e6)

	// 3. the tarball's release.MF and packages
	rel := filepath.Join(work, "release")
	if err := deploylocal.Untar(tarball, rel); err != nil {
		t.Fatalf("extracting %s: %v", tarball, err)
	}
	mfBytes, err := os.ReadFile(filepath.Join(rel, "release.MF"))
	if err != nil {
		t.Fatal(err)
	}
	var mf struct {
		Name     string `yaml:"name"`
		Version  string `yaml:"version"`
		Packages []struct {
			Name         string   `yaml:"name"`
			Version      string   `yaml:"version"`
			Dependencies []string `yaml:"dependencies"`
		} `yaml:"packages"`
		Jobs []struct {
			Name string `yaml:"name"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(mfBytes, &mf); err != nil {
		t.Fatalf("release.MF: %v", err)
	}
	jobDirs, _ := filepath.Glob(filepath.Join(repo, "jobs", "*", "spec"))
	if len(mf.Jobs) != len(jobDirs) {
		t.Errorf("release.MF has %d jobs, jobs/ has %d", len(mf.Jobs), len(jobDirs))
	}

	// 4. compile in dependency order
	pkgs := filepath.Join(work, "vcap", "packages")
	os.MkdirAll(pkgs, 0o755)
	home := filepath.Join(work, "home")
	os.MkdirAll(home, 0o755)
	// Every Go package compiles the same ~165 MB of vendored dependencies in
	// its own empty GOCACHE (compile.env), about 1.5 min each here. Unless
	// DIEGO_RELEASETEST_COLD is set, the compiled toolchain's compile.env is
	// pointed at one build cache shared by the packages of this test (the
	// packaging scripts run unchanged; Go's cache does not change outputs).
	// The shared cache lives in the user's cache dir, so later runs of this
	// test reuse compiled objects (sources still come from the tarball
	// alone, offline); DIEGO_RELEASETEST_COLD=1 compiles from nothing.
	cold := os.Getenv("DIEGO_RELEASETEST_COLD") != ""
	gocache := filepath.Join(work, "gocache")
	if dir, err := os.UserCacheDir(); err == nil && !cold {
		gocache = filepath.Join(dir, "diego-releasetest-gocache")
	}
	done := map[string]bool{}
	for len(done) < len(mf.Packages) {
		progress := false
		for _, p := range mf.Packages {
			if done[p.Name] || !all(p.Dependencies, done) {
				continue
			}
			progress = true
			done[p.Name] = true
			step := time.Now()
			src := filepath.Join(work, "compile", p.Name)
			if err := deploylocal.Untar(filepath.Join(rel, "packages", p.Name+".tgz"), src); err != nil {
				t.Fatalf("package %s: extracting: %v", p.Name, err)
			}
			install := filepath.Join(pkgs, p.Name)
			os.MkdirAll(install, 0o755)
			cmd := exec.Command("/usr/bin/env", "-i", "RELEASETEST_GOCACHE="+gocache,
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"HOME="+home, "TMPDIR="+filepath.Join(work, "tmp"),
				"GOPROXY=off", "http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
				"BOSH_COMPILE_TARGET="+src, "BOSH_INSTALL_TARGET="+install,
				"BOSH_PACKAGES_DIR="+pkgs, "BOSH_PACKAGE_NAME="+p.Name, "BOSH_PACKAGE_VERSION="+p.Version,
				"bash", "-x", "packaging")
			os.MkdirAll(filepath.Join(work, "tmp"), 0o755)
			cmd.Dir = src
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("package %s: packaging (env -i, GOPROXY=off, BOSH_PACKAGES_DIR=%s): %v\n%s", p.Name, pkgs, err, tail(out))
			}
			os.RemoveAll(src)
			t.Logf("package %s compiled in %s", p.Name, time.Since(step).Round(time.Millisecond))
			if !cold {
				shareGoCache(t, install)
			}
		}
		if !progress {
			t.Fatalf("packages with unknown or circular dependencies: %+v", mf.Packages)
		}
	}

	// 5. the binaries run
	for _, b := range []struct{ bin, arg string }{
		{"bbs", "-version"}, {"locket", "-version"}, {"auctioneer", "-version"}, {"rep", "-version"}, {"diego", "help"},
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
	t.Logf("release tarball test: %s in all", time.Since(start).Round(time.Millisecond))
}

// shareGoCache makes a compiled package's bosh/compile.env (the Go
// toolchain's) use $RELEASETEST_GOCACHE when set.
func shareGoCache(t *testing.T, install string) {
	env := filepath.Join(install, "bosh", "compile.env")
	b, err := os.ReadFile(env)
	if err != nil {
		return
	}
	const from = `GOCACHE="${go_tmp}/cache"`
	if !strings.Contains(string(b), from) {
		t.Logf("%s does not set %s: packages compile with their own caches", relTo(filepath.Dir(install), env), from)
		return
	}
	b = []byte(strings.Replace(string(b), from, `GOCACHE="${RELEASETEST_GOCACHE:-${go_tmp}/cache}"`, 1))
	if err := os.WriteFile(env, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func all(names []string, done map[string]bool) bool {
	for _, n := range names {
		if !done[n] {
			return false
		}
	}
	return true
}

func tail(b []byte) string {
	const max = 6000
	if len(b) > max {
		return "...\n" + string(b[len(b)-max:])
	}
	return string(b)
}

// copyWorkingTree copies the repository's tracked and untracked (not
// ignored) files, as `git ls-files -co --exclude-standard` lists them.
func copyWorkingTree(t *testing.T, dst string) {
	t.Helper()
	cmd := exec.Command("bash", "-c", `git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf - | (mkdir -p "$1" && tar -C "$1" -xf -)`, "copy", dst)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copying the working tree: %v\n%s", err, out)
	}
	// release.sh uses `git describe`; the copy has no .git, so it falls back.
}
