// Command bosh-local answers the few bosh CLI commands the pipeline's task
// scripts (ci/scripts/*.sh) use, by deploying with deploy-local
// (tools/deploylocal) on this machine instead of asking a director: it is the
// local deployment target of the pipelines, a test harness and not a BOSH
// replacement (docs/deploy-local.md, docs/pipelines.md). Point a task at it
// with BOSH_CLI=/path/to/bosh-local and BOSH_ENVIRONMENT=local:/state/dir.
//
//	bosh-local upload-release TARBALL
//	bosh-local -d NAME deploy MANIFEST [-o F]... [-l F]... [-v K=V]... [--dry-run] [--recreate]
//	bosh-local -d NAME manifest
//	bosh-local -d NAME run-errand ERRAND [--instance G/i|G/first] [--download-logs --logs-dir D]
//	bosh-local -d NAME delete-deployment
//	bosh-local [-d NAME] instances | deployments
//	bosh-local interpolate | create-release | ...   (handed to the real bosh CLI)
//
// The state directory holds releases/ (uploaded tarballs; the last one is
// deployed), packages/ (compiled, shared by every deploy) and
// deployments/NAME/ (manifest.yml as deployed, vars.yml: the generated
// credentials, like a config server; root/: the deploy-local root;
// supervisor.log). A deploy runs deploy-local's supervisor detached
// (`bosh-local __supervise`), so the deployment outlives the task; every
// deploy of a running deployment drains and stops it, then starts it again
// (no in-place update) keeping its database. One deployment runs at a time.
// BOSH_LOCAL_PACKAGES_DIR moves packages/ (e.g. to share deploy-local's test
// cache: a package of the same fingerprint is not compiled again).
// Needs root.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/diego-go/diego/tools/deploylocal"
	"github.com/diego-go/diego/tools/internal/boshrel"
)

// deployTimeout bounds a deploy (compiling on a cold cache takes minutes).
const deployTimeout = 30 * time.Minute

type opts struct {
	env, deployment string
	cmd             string
	args            []string
}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "__supervise" {
		if len(os.Args) != 3 {
			fail(errors.New("usage: bosh-local __supervise DEPLOYMENT_DIR"))
		}
		os.Exit(supervise(os.Args[2]))
	}
	o, err := parseGlobal(os.Args[1:])
	if err != nil {
		usageFail(err)
	}
	switch o.cmd {
	case "", "help", "-h", "--help":
		usage(os.Stdout)
		return
	case "upload-release", "ur", "deploy", "d", "manifest", "man", "run-errand", "delete-deployment", "deld",
		"deployments", "ds", "instances", "is":
	default:
		// what needs no director (interpolate, create-release, ...) is the
		// real bosh CLI's; it rejects the director commands it would need
		// a director for
		os.Exit(realBosh(os.Args[1:]))
	}
	dir, err := stateDir(o.env)
	if err != nil {
		usageFail(err)
	}
	switch o.cmd {
	case "upload-release", "ur":
		err = uploadRelease(dir, o.args)
	case "deploy", "d":
		err = deploy(dir, o)
	case "manifest", "man":
		err = showManifest(dir, o)
	case "run-errand":
		err = runErrand(dir, o)
	case "delete-deployment", "deld":
		err = deleteDeployment(dir, o)
	case "deployments", "ds":
		err = listDeployments(dir)
	case "instances", "is":
		err = instances(dir, o)
	}
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "bosh-local:", ee.msg)
			os.Exit(ee.code)
		}
		fail(err)
	}
}

type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// parseGlobal takes the bosh CLI's global flags from anywhere in args; the
// first other word is the command, the rest its arguments.
func parseGlobal(args []string) (opts, error) {
	o := opts{env: os.Getenv("BOSH_ENVIRONMENT"), deployment: os.Getenv("BOSH_DEPLOYMENT")}
	valued := map[string]*string{"-e": &o.env, "--environment": &o.env, "-d": &o.deployment, "--deployment": &o.deployment,
		"--client": new(string), "--client-secret": new(string), "--ca-cert": new(string), "--config": new(string)}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		if p, ok := valued[name]; ok && strings.HasPrefix(a, "-") {
			if !hasVal {
				if i+1 >= len(args) {
					return o, fmt.Errorf("%s needs a value", name)
				}
				i++
				val = args[i]
			}
			*p = val
			continue
		}
		switch a {
		case "-n", "--non-interactive", "--tty", "--no-color", "--json":
			continue
		}
		if o.cmd == "" && !strings.HasPrefix(a, "-") {
			o.cmd = a
			continue
		}
		o.args = append(o.args, a)
	}
	return o, nil
}

// stateDir is BOSH_ENVIRONMENT: local:/dir or /dir.
func stateDir(env string) (string, error) {
	d := strings.TrimPrefix(strings.TrimPrefix(env, "local://"), "local:")
	if d == "" || !filepath.IsAbs(d) {
		return "", fmt.Errorf("BOSH_ENVIRONMENT (or -e) %q: bosh-local needs local:/ABSOLUTE/DIR, its state directory", env)
	}
	return d, os.MkdirAll(d, 0o755)
}

// cmdFlags parses a command's flags: valued ones (repeatable) and booleans.
func cmdFlags(args []string, valued, bools []string) (map[string][]string, map[string]bool, []string, error) {
	vals, set := map[string][]string{}, map[string]bool{}
	var pos []string
	isV := map[string]bool{}
	for _, v := range valued {
		isV[v] = true
	}
	isB := map[string]bool{}
	for _, b := range bools {
		isB[b] = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		switch {
		case isV[name]:
			if !hasVal {
				if i+1 >= len(args) {
					return nil, nil, nil, fmt.Errorf("%s needs a value", name)
				}
				i++
				val = args[i]
			}
			vals[name] = append(vals[name], val)
		case isB[name]:
			set[name] = true
		default:
			return nil, nil, nil, fmt.Errorf("unknown flag %s", name)
		}
	}
	return vals, set, pos, nil
}

func realBosh(args []string) int {
	cli := os.Getenv("BOSH_LOCAL_REAL_CLI")
	if cli == "" {
		self, _ := os.Executable()
		cli = filepath.Join(filepath.Dir(self), "bosh")
	}
	if _, err := os.Stat(cli); err != nil {
		fail(fmt.Errorf("bosh-local hands %q to the real bosh CLI: none at %s (set BOSH_LOCAL_REAL_CLI, or run make bosh)", strings.Join(args, " "), cli))
	}
	cmd := exec.Command(cli, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fail(err)
	}
	return 0
}

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
	_, _, pos, err := cmdFlags(args, nil, []string{"--fix", "--rebase"})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: upload-release TARBALL (a file; bosh-local does not download URLs)")
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
	rm, err := deploylocal.ExtractJobs(pos[0], tmp)
	if err != nil {
		return err
	}
	if rm.Name != deploylocal.ReleaseName {
		return fmt.Errorf("%s is release %q: bosh-local deploys %s only", pos[0], rm.Name, deploylocal.ReleaseName)
	}
	rels := filepath.Join(dir, "releases")
	os.MkdirAll(rels, 0o755)
	dst := filepath.Join(rels, fmt.Sprintf("%s-%s.tgz", rm.Name, rm.Version))
	if err := copyFile(pos[0], dst); err != nil {
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
	vals, set, pos, err := cmdFlags(o.args, []string{"-o", "--ops-file", "-l", "--vars-file", "-v", "--var", "--vars-store"},
		[]string{"--dry-run", "--recreate", "--fix", "--skip-drain", "--no-redact"})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: -d NAME deploy MANIFEST [-o F] [-l F] [-v K=V] [--dry-run] [--recreate]")
	}
	ddir, err := deploymentDir(dir, o)
	if err != nil {
		return err
	}
	in := boshrel.Interpolation{Manifest: pos[0], OpsFiles: append(vals["-o"], vals["--ops-file"]...),
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
		return fmt.Errorf("interpolating %s: %w", pos[0], err)
	}
	var head struct {
		Name string `yaml:"name"`
	}
	if err := yaml.Unmarshal(manifest, &head); err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
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

func showManifest(dir string, o opts) error {
	ddir, err := deploymentDir(dir, o)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(ddir, "manifest.yml"))
	if err != nil {
		return &exitError{1, fmt.Sprintf("Deployment '%s' doesn't exist", o.deployment)}
	}
	_, err = os.Stdout.Write(b)
	return err
}

func loadRunning(dir string, o opts) (*deploylocal.State, error) {
	ddir, err := deploymentDir(dir, o)
	if err != nil {
		return nil, err
	}
	st, err := deploylocal.Load(filepath.Join(ddir, "root"))
	if err != nil {
		return nil, &exitError{1, fmt.Sprintf("Deployment '%s' doesn't exist", o.deployment)}
	}
	if s := readStatus(ddir); s != "running" {
		return nil, &exitError{1, fmt.Sprintf("deployment %s is not running (%s): deploy it again", o.deployment, s)}
	}
	return st, nil
}

func runErrand(dir string, o opts) error {
	vals, set, pos, err := cmdFlags(o.args, []string{"--instance", "--logs-dir"}, []string{"--keep-alive", "--download-logs", "--when-changed"})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: -d NAME run-errand ERRAND [--instance G/i] [--download-logs --logs-dir D]")
	}
	st, err := loadRunning(dir, o)
	if err != nil {
		return err
	}
	instance := ""
	if is := vals["--instance"]; len(is) > 0 {
		instance = strings.TrimSuffix(is[len(is)-1], "/first") // the group's first instance
	}
	fmt.Fprintf(os.Stderr, "bosh-local: running errand %s on %s\n", pos[0], orAll(instance))
	runErr := deploylocal.RunErrand(st, pos[0], instance, os.Stdout)
	if set["--download-logs"] && len(vals["--logs-dir"]) > 0 {
		for _, inst := range st.Instances {
			if instance == "" || inst.Group == instance || inst.Name() == instance {
				src := filepath.Join(inst.Root, "sys/log", pos[0])
				dst := filepath.Join(vals["--logs-dir"][0], strings.ReplaceAll(inst.Name(), "/", "-"))
				os.MkdirAll(dst, 0o755)
				exec.Command("cp", "-a", src+"/.", dst).Run()
			}
		}
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		return &exitError{1, fmt.Sprintf("errand %s failed (exit %d)", pos[0], ee.ExitCode())}
	}
	if runErr == nil {
		fmt.Fprintf(os.Stderr, "bosh-local: errand %s succeeded\n", pos[0])
	}
	return runErr
}

func orAll(s string) string {
	if s == "" {
		return "the first instance with the job"
	}
	return s
}

func deleteDeployment(dir string, o opts) error {
	if _, _, _, err := cmdFlags(o.args, nil, []string{"--force"}); err != nil {
		return err
	}
	ddir, err := deploymentDir(dir, o)
	if err != nil {
		return err
	}
	unlock, err := lock(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(ddir); err != nil {
		fmt.Printf("Deployment %s does not exist: nothing to delete\n", o.deployment)
		return nil
	}
	if _, err := deploylocal.Load(filepath.Join(ddir, "root")); err == nil {
		if err := deploylocal.Down(filepath.Join(ddir, "root"), 15*time.Minute); err != nil {
			return fmt.Errorf("stopping %s: %w", o.deployment, err)
		}
	}
	if err := os.RemoveAll(ddir); err != nil {
		return err
	}
	fmt.Printf("Deleted deployment %s\n", o.deployment)
	return nil
}

func listDeployments(dir string) error {
	ds, _ := filepath.Glob(filepath.Join(dir, "deployments", "*"))
	sort.Strings(ds)
	fmt.Printf("%-30s %s\n", "Name", "Status")
	for _, d := range ds {
		fmt.Printf("%-30s %s\n", filepath.Base(d), orNone(readStatus(d)))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func instances(dir string, o opts) error {
	names := []string{o.deployment}
	if o.deployment == "" {
		ds, _ := filepath.Glob(filepath.Join(dir, "deployments", "*"))
		names = nil
		for _, d := range ds {
			names = append(names, filepath.Base(d))
		}
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for _, n := range names {
		st, err := deploylocal.Load(filepath.Join(dir, "deployments", n, "root"))
		if err != nil {
			continue
		}
		fmt.Fprintf(w, "Deployment '%s' (%s)\n", n, orNone(readStatus(filepath.Join(dir, "deployments", n))))
		for _, inst := range st.Instances {
			state := "running"
			if inst.Stopped || st.Pid == 0 {
				state = "stopped"
			}
			fmt.Fprintf(w, "  %s/%s\t%s\taz=%s\t%s\tindex=%s\n", inst.Group, inst.ID, state, inst.AZ, inst.IP, strconv.Itoa(inst.Index))
		}
	}
	return nil
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

func usage(w io.Writer) {
	fmt.Fprintln(w, `bosh-local: the pipeline tasks' bosh commands, answered with deploy-local on this machine (a test harness).
Environment: BOSH_ENVIRONMENT=local:/STATE/DIR (or -e); BOSH_CLIENT/BOSH_CLIENT_SECRET are ignored.
  bosh-local upload-release TARBALL
  bosh-local -d NAME deploy MANIFEST [-o F]... [-l F]... [-v K=V]... [--dry-run] [--recreate]
  bosh-local -d NAME manifest
  bosh-local -d NAME run-errand ERRAND [--instance G/i|G/first] [--download-logs --logs-dir D]
  bosh-local -d NAME delete-deployment
  bosh-local deployments | [-d NAME] instances
  anything else (interpolate, create-release, ...) runs the real bosh CLI: BOSH_LOCAL_REAL_CLI, default bosh beside this binary`)
}

func usageFail(err error) {
	fmt.Fprintln(os.Stderr, "bosh-local:", err)
	usage(os.Stderr)
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bosh-local:", err)
	os.Exit(1)
}
