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
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
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
// oneArg is cmdFlags for a command of one positional argument; usage is
// the error when there is not exactly one.
func oneArg(args []string, valued, bools []string, usage string) (map[string][]string, map[string]bool, string, error) {
	vals, set, pos, err := cmdFlags(args, valued, bools)
	if err == nil && len(pos) != 1 {
		err = errors.New(usage)
	}
	if err != nil {
		return nil, nil, "", err
	}
	return vals, set, pos[0], nil
}

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
