package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/diego-go/diego/tools/deploylocal"
	"github.com/diego-go/diego/tools/internal/boshrel"
)

// lock serialises the commands that change the state directory.
func lock(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(os.Stderr, "bosh-local: waiting for another bosh-local command on %s\n", dir)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
	}
	return func() { f.Close() }, nil
}

func uploadRelease(dir string, args []string) error {
	_, _, tarball, err := oneArg(args, nil, []string{"--fix", "--rebase"}, "usage: upload-release TARBALL (a file; bosh-local does not download URLs)")
	if err != nil {
		return err
	}
	unlock, err := lock(dir)
	if err != nil {
		return err
	}
	defer unlock()
	tmp, err := os.MkdirTemp(dir, "upload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rm, err := deploylocal.ExtractJobs(tarball, tmp)
	if err != nil {
		return err
	}
	if rm.Name != deploylocal.ReleaseName {
		return fmt.Errorf("%s is release %q: bosh-local deploys %s only", tarball, rm.Name, deploylocal.ReleaseName)
	}
	rels := filepath.Join(dir, "releases")
	os.MkdirAll(rels, 0o755)
	dst := filepath.Join(rels, fmt.Sprintf("%s-%s.tgz", rm.Name, rm.Version))
	if err := copyFile(tarball, dst); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rels, "current"), []byte(filepath.Base(dst)+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("Uploaded release %s/%s (%s); the next deploy uses it\n", rm.Name, rm.Version, dst)
	return nil
}

func currentRelease(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "releases", "current"))
	if err != nil {
		return "", fmt.Errorf("no release uploaded to %s: bosh upload-release TARBALL first", dir)
	}
	return filepath.Join(dir, "releases", strings.TrimSpace(string(b))), nil
}

func deploymentDir(dir string, o opts) (string, error) {
	if o.deployment == "" {
		return "", errors.New("no deployment: give -d NAME (or BOSH_DEPLOYMENT)")
	}
	if strings.ContainsAny(o.deployment, "/ ") || strings.HasPrefix(o.deployment, ".") {
		return "", fmt.Errorf("deployment name %q: no '/', spaces or leading '.'", o.deployment)
	}
	return filepath.Join(dir, "deployments", o.deployment), nil
}

// upConfig is what the detached supervisor deploys.
type upConfig struct {
	Repo         string `json:"repo"` // the uploaded tarball's jobs
	Manifest     string `json:"manifest"`
	VarsStore    string `json:"vars_store"`
	Root         string `json:"root"`
	Tarball      string `json:"tarball"`
	PackagesDir  string `json:"packages_dir"`
	KeepDatabase bool   `json:"keep_database"`
}

func deploy(dir string, o opts) error {
	vals, set, manifestPath, err := oneArg(o.args, []string{"-o", "--ops-file", "-l", "--vars-file", "-v", "--var", "--vars-store"},
		[]string{"--dry-run", "--recreate", "--fix", "--skip-drain", "--no-redact"},
		"usage: -d NAME deploy MANIFEST [-o F] [-l F] [-v K=V] [--dry-run] [--recreate]")
	if err != nil {
		return err
	}
	ddir, err := deploymentDir(dir, o)
	if err != nil {
		return err
	}
	in := boshrel.Interpolation{Manifest: manifestPath, OpsFiles: append(vals["-o"], vals["--ops-file"]...),
		VarsFiles: append(vals["-l"], vals["--vars-file"]...), Vars: map[string]string{}}
	for _, kv := range append(vals["-v"], vals["--var"]...) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("-v %q is not NAME=VALUE", kv)
		}
		in.Vars[k] = v
	}
	manifest, err := boshrel.Interpolate(in) // director variables stay ((placeholders)) until the supervisor's vars store
	if err != nil {
		return fmt.Errorf("interpolating %s: %w", manifestPath, err)
	}
	var head struct {
		Name string `yaml:"name"`
	}
	if err := yaml.Unmarshal(manifest, &head); err != nil {
		return fmt.Errorf("%s: %w", manifestPath, err)
	}
	if head.Name != o.deployment {
		return fmt.Errorf("the manifest deploys %q, not -d %s", head.Name, o.deployment)
	}
	tarball, err := currentRelease(dir)
	if err != nil {
		return err
	}
	if set["--dry-run"] {
		fmt.Printf("dry run: %s interpolates and would be deployed with %s; nothing changed\n", o.deployment, filepath.Base(tarball))
		return nil
	}
	unlock, err := lock(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if other := runningOther(dir, o.deployment); other != "" {
		return fmt.Errorf("deployment %s is running: bosh-local runs one deployment at a time (bosh -d %s delete-deployment)", other, other)
	}
	root := filepath.Join(ddir, "root")
	_, statErr := os.Stat(filepath.Join(root, "deployment.json"))
	existed := statErr == nil
	if existed {
		fmt.Fprintf(os.Stderr, "bosh-local: updating %s: draining and stopping every instance (bosh-local recreates instances; the database is kept)\n", o.deployment)
		if err := deploylocal.Down(root, 15*time.Minute); err != nil {
			return fmt.Errorf("stopping the running %s: %w", o.deployment, err)
		}
	}
	os.MkdirAll(ddir, 0o755)
	cfg := upConfig{Repo: filepath.Join(ddir, "release"), Manifest: filepath.Join(ddir, "manifest.yml"),
		VarsStore: filepath.Join(ddir, "vars.yml"), Root: root, Tarball: tarball,
		PackagesDir: filepath.Join(dir, "packages"), KeepDatabase: existed}
	if p := os.Getenv("BOSH_LOCAL_PACKAGES_DIR"); p != "" {
		cfg.PackagesDir = p // shared with another deploy-local cache
	}
	if _, err := deploylocal.ExtractJobs(tarball, cfg.Repo); err != nil {
		return err
	}
	if err := os.WriteFile(cfg.Manifest, manifest, 0o600); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(ddir, "up.json"), b, 0o600); err != nil {
		return err
	}
	os.Remove(filepath.Join(ddir, "status"))
	logPath := filepath.Join(ddir, "supervisor.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "---- %s deploy %s with %s\n", time.Now().UTC().Format(time.RFC3339), o.deployment, filepath.Base(tarball))
	off, _ := logf.Seek(0, io.SeekEnd)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// Detached (own session, stdio to the log): the deployment outlives
	// this command and the Concourse container that ran it.
	cmd := exec.Command(self, "__supervise", ddir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	logf.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fmt.Fprintf(os.Stderr, "bosh-local: deploying %s (supervisor pid %d, log %s)\n", o.deployment, cmd.Process.Pid, logPath)
	deadline := time.After(deployTimeout)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		off = follow(logPath, off, os.Stderr)
		st := readStatus(ddir)
		switch {
		case st == "running":
			fmt.Printf("Deployed %s: %s\n", o.deployment, filepath.Join(root, "deployment.json"))
			return nil
		case strings.HasPrefix(st, "failed"):
			return fmt.Errorf("deploying %s %s (log %s)", o.deployment, st, logPath)
		}
		select {
		case err := <-exited:
			follow(logPath, off, os.Stderr)
			return fmt.Errorf("deploying %s: the supervisor exited (%v) before the deployment ran; see %s", o.deployment, err, logPath)
		case <-deadline:
			return fmt.Errorf("deploying %s: not running after %s; it goes on in the background (log %s)", o.deployment, deployTimeout, logPath)
		case <-tick.C:
		}
	}
}

// follow copies what was appended to path since off.
func follow(path string, off int64, w io.Writer) int64 {
	f, err := os.Open(path)
	if err != nil {
		return off
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return off
	}
	n, _ := io.Copy(w, f)
	return off + n
}

func readStatus(ddir string) string {
	b, _ := os.ReadFile(filepath.Join(ddir, "status"))
	return strings.TrimSpace(string(b))
}

// runningOther names another deployment whose supervisor is alive.
func runningOther(dir, name string) string {
	ds, _ := filepath.Glob(filepath.Join(dir, "deployments", "*"))
	for _, d := range ds {
		if filepath.Base(d) == name {
			continue
		}
		if st, err := deploylocal.Load(filepath.Join(d, "root")); err == nil && st.Pid > 0 && syscall.Kill(st.Pid, 0) == nil {
			return filepath.Base(d)
		}
	}
	return ""
}

// supervise is the detached process: deploylocal.Up, then keep the
// deployment until SIGTERM (delete-deployment or the next deploy).
func supervise(ddir string) int {
	b, err := os.ReadFile(filepath.Join(ddir, "up.json"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bosh-local supervisor:", err)
		return 1
	}
	var cfg upConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bosh-local supervisor:", err)
		return 1
	}
	status := func(s string) { os.WriteFile(filepath.Join(ddir, "status"), []byte(s+"\n"), 0o644) }
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	signal.Ignore(syscall.SIGHUP)
	status("starting")
	d, err := deploylocal.Up(ctx, deploylocal.Options{Repo: cfg.Repo, Manifest: cfg.Manifest, VarsStore: cfg.VarsStore,
		Root: cfg.Root, Tarball: cfg.Tarball, PackagesDir: cfg.PackagesDir, KeepDatabase: cfg.KeepDatabase})
	if err != nil {
		status("failed: " + strings.ReplaceAll(err.Error(), "\n", " "))
		fmt.Fprintln(os.Stderr, "bosh-local supervisor: deploy failed:", err)
		return 1
	}
	status("running")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "bosh-local supervisor: stopping (drain, stop, post-stop)")
	err = d.Down()
	status("stopped")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bosh-local supervisor:", err)
		return 1
	}
	return 0
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
