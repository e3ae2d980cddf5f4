package deploylocal

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ReleaseManifest is the part of a release tarball's release.MF used here.
type ReleaseManifest struct {
	Name     string `yaml:"name"`
	Version  string `yaml:"version"`
	Packages []struct {
		Name         string   `yaml:"name"`
		Version      string   `yaml:"version"`
		Fingerprint  string   `yaml:"fingerprint"`
		Dependencies []string `yaml:"dependencies"`
	} `yaml:"packages"`
	Jobs []struct {
		Name string `yaml:"name"`
	} `yaml:"jobs"`
}

// BuildTarball runs ci/dev/release.sh --tarball out in a copy of the
// working tree (tracked and untracked, not ignored files), so the checkout
// never gets src/_release, blobs/ or dev_releases/. bosh is the bosh CLI.
func BuildTarball(repo, bosh, out string, logf func(string, ...interface{})) error {
	work, err := os.MkdirTemp("", "deploy-local-tree-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	cp := exec.Command("bash", "-c", `git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf - | tar -C "$1" -xf -`, "copy", work)
	cp.Dir = repo
	if b, err := cp.CombinedOutput(); err != nil {
		return fmt.Errorf("copying the working tree: %v\n%s", err, b)
	}
	start := time.Now()
	os.MkdirAll(filepath.Dir(out), 0o755)
	cmd := exec.Command("bash", "ci/dev/release.sh", "--tarball", out)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "BOSH_CLI="+bosh, "DIEGO_RELEASE_CACHE="+filepath.Join(repo, ".cache", "release"))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ci/dev/release.sh --tarball %s: %v\n%s", out, err, tail(b))
	}
	logf("built %s with ci/dev/release.sh in %s", out, time.Since(start).Round(time.Second))
	return nil
}

// CompilePackages extracts the release tarball and compiles every package
// the way a BOSH compilation VM does: in dependency order, each package's
// sources alone in an empty directory, `bash -x packaging` under `env -i`
// without network (GOPROXY=off, proxies on a closed port) with
// BOSH_COMPILE_TARGET, BOSH_INSTALL_TARGET=pkgs/<name> and
// BOSH_PACKAGES_DIR=pkgs. A package already compiled from the same
// fingerprint (pkgs/<name>/.deploy-local-fingerprint) is kept. The Go
// packages share their build cache under pkgs/../data/golang-1-linux/cache
// (compile.env), so recompiling is quick.
func CompilePackages(tarball, pkgs string, logf func(string, ...interface{})) (*ReleaseManifest, error) {
	work, err := os.MkdirTemp("", "deploy-local-compile-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	rel := filepath.Join(work, "release")
	if err := Untar(tarball, rel); err != nil {
		return nil, fmt.Errorf("extracting %s: %w", tarball, err)
	}
	b, err := os.ReadFile(filepath.Join(rel, "release.MF"))
	if err != nil {
		return nil, err
	}
	var mf ReleaseManifest
	if err := yaml.Unmarshal(b, &mf); err != nil {
		return nil, fmt.Errorf("release.MF: %w", err)
	}
	if err := os.MkdirAll(pkgs, 0o755); err != nil {
		return nil, err
	}
	pkgs, _ = filepath.Abs(pkgs)
	home := filepath.Join(work, "home")
	tmp := filepath.Join(work, "tmp")
	os.MkdirAll(home, 0o755)
	os.MkdirAll(tmp, 0o755)
	done := map[string]bool{}
	for len(done) < len(mf.Packages) {
		progress := false
		for _, p := range mf.Packages {
			if done[p.Name] || !allDone(p.Dependencies, done) {
				continue
			}
			progress = true
			done[p.Name] = true
			install := filepath.Join(pkgs, p.Name)
			mark := filepath.Join(install, ".deploy-local-fingerprint")
			fp := p.Fingerprint + "/" + p.Version
			if old, err := os.ReadFile(mark); err == nil && string(old) == fp {
				logf("package %s: already compiled", p.Name)
				continue
			}
			step := time.Now()
			src := filepath.Join(work, "compile", p.Name)
			if err := Untar(filepath.Join(rel, "packages", p.Name+".tgz"), src); err != nil {
				return nil, fmt.Errorf("package %s: extracting: %w", p.Name, err)
			}
			os.RemoveAll(install)
			os.MkdirAll(install, 0o755)
			cmd := exec.Command("/usr/bin/env", "-i",
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"HOME="+home, "TMPDIR="+tmp,
				"GOPROXY=off", "http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
				"BOSH_COMPILE_TARGET="+src, "BOSH_INSTALL_TARGET="+install,
				"BOSH_PACKAGES_DIR="+pkgs, "BOSH_PACKAGE_NAME="+p.Name, "BOSH_PACKAGE_VERSION="+p.Version,
				"bash", "-x", "packaging")
			cmd.Dir = src
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("package %s: packaging (env -i, GOPROXY=off, BOSH_PACKAGES_DIR=%s): %v\n%s", p.Name, pkgs, err, tail(out))
			}
			os.RemoveAll(src)
			if err := os.WriteFile(mark, []byte(fp), 0o644); err != nil {
				return nil, err
			}
			logf("package %s compiled in %s", p.Name, time.Since(step).Round(time.Millisecond))
		}
		if !progress {
			return nil, fmt.Errorf("packages with unknown or circular dependencies: %+v", mf.Packages)
		}
	}
	return &mf, nil
}

func allDone(names []string, done map[string]bool) bool {
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

// Untar extracts a .tgz into dst (regular files, directories, symlinks).
func Untar(path, dst string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(h.Name)
		if strings.HasPrefix(name, "..") {
			return fmt.Errorf("bad path %s", h.Name)
		}
		p := filepath.Join(dst, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeSymlink:
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			w, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777|0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, tr); err != nil {
				w.Close()
				return err
			}
			w.Close()
		}
	}
}

// ExtractJobs lays the release tarball's jobs out as a release source tree
// (dst/jobs/<name>/spec and templates/, what Options.Repo is read for), so
// a deployment renders the jobs of an uploaded tarball rather than a
// checkout's. It returns the tarball's release.MF.
func ExtractJobs(tarball, dst string) (*ReleaseManifest, error) {
	work, err := os.MkdirTemp("", "deploy-local-jobs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if err := Untar(tarball, work); err != nil {
		return nil, fmt.Errorf("extracting %s: %w", tarball, err)
	}
	b, err := os.ReadFile(filepath.Join(work, "release.MF"))
	if err != nil {
		return nil, fmt.Errorf("%s is not a release tarball (no release.MF): %w", tarball, err)
	}
	var rm ReleaseManifest
	if err := yaml.Unmarshal(b, &rm); err != nil {
		return nil, fmt.Errorf("%s: release.MF: %w", tarball, err)
	}
	if len(rm.Jobs) == 0 {
		return nil, fmt.Errorf("%s: the release has no jobs", tarball)
	}
	if err := os.RemoveAll(dst); err != nil {
		return nil, err
	}
	for _, j := range rm.Jobs {
		dir := filepath.Join(dst, "jobs", j.Name)
		if err := Untar(filepath.Join(work, "jobs", j.Name+".tgz"), dir); err != nil {
			return nil, fmt.Errorf("%s: job %s: %w", tarball, j.Name, err)
		}
		if err := os.Rename(filepath.Join(dir, "job.MF"), filepath.Join(dir, "spec")); err != nil {
			return nil, fmt.Errorf("%s: job %s has no job.MF: %w", tarball, j.Name, err)
		}
	}
	return &rm, nil
}
