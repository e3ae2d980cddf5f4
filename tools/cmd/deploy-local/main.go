// Command deploy-local deploys the diego-go release on this machine as a
// test harness (tools/deploylocal, docs/deploy-local.md). Needs root.
//
//	deploy-local up --root ROOT [--manifest M] [-o OPS]... [-l VARS]... [-v K=V]... [--vars-store F] [--tarball T]
//	deploy-local errand NAME [--root ROOT] [--instance G/i]
//	deploy-local drain G/i [--root ROOT]
//	deploy-local ssh G/i [--root ROOT] [-- COMMAND [ARGS...]]
//	deploy-local down [--root ROOT]
//	deploy-local status [--root ROOT]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/diego-go/diego/tools/deploylocal"
	"github.com/diego-go/diego/tools/internal/boshrel"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	sub, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet("deploy-local "+sub, flag.ExitOnError)
	root := fs.String("root", ".deploy-local", "the deployment's directory")
	var err error
	switch sub {
	case "up":
		repo, rerr := boshrel.RepoRoot()
		if rerr != nil {
			fail(rerr)
		}
		var ops, vars, kvs list
		manifest := fs.String("manifest", repo+"/manifests/diego.yml", "base manifest")
		fs.Var(&ops, "o", "ops-file (repeatable)")
		fs.Var(&vars, "l", "vars file (repeatable)")
		fs.Var(&kvs, "v", "NAME=VALUE (repeatable)")
		store := fs.String("vars-store", "", "vars store (default ROOT/vars.yml)")
		tarball := fs.String("tarball", "", "release tarball (default: built with ci/dev/release.sh)")
		pkgDir := fs.String("packages-dir", "", "compiled packages (default ROOT/packages; share it between roots)")
		keepDB := fs.Bool("keep-database", false, "do not drop and re-create the BBS's PostgreSQL database")
		fs.Parse(args)
		o := deploylocal.Options{Repo: repo, Manifest: *manifest, OpsFiles: ops, VarsFiles: vars, VarsStore: *store,
			Root: *root, Tarball: *tarball, PackagesDir: *pkgDir, KeepDatabase: *keepDB, Vars: map[string]string{}}
		for _, kv := range kvs {
			k, v, _ := strings.Cut(kv, "=")
			o.Vars[k] = v
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		d, uerr := deploylocal.Up(ctx, o)
		if uerr != nil {
			fail(uerr)
		}
		fmt.Fprintf(os.Stderr, "deploy-local: running; %s/deployment.json; SIGINT/SIGTERM or `deploy-local down --root %s` stops it\n", o.Root, *root)
		<-ctx.Done()
		fmt.Fprintln(os.Stderr, "deploy-local: stopping (drain, stop, post-stop)")
		err = d.Down()
	case "errand":
		if len(args) < 1 {
			usage()
		}
		name := args[0]
		instance := fs.String("instance", "", "GROUP/INDEX (default: the first instance with the job)")
		fs.Parse(args[1:])
		st := load(*root)
		err = deploylocal.RunErrand(st, name, *instance, os.Stdout)
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			fmt.Fprintf(os.Stderr, "deploy-local: errand %s failed: %v\n", name, err)
			os.Exit(ee.ExitCode())
		}
	case "drain":
		if len(args) < 1 {
			usage()
		}
		name := args[0]
		timeout := fs.Duration("timeout", 10*time.Minute, "bound of the drain")
		fs.Parse(args[1:])
		st := load(*root)
		inst, ierr := st.Instance(name)
		if ierr != nil {
			fail(ierr)
		}
		err = deploylocal.StopInstance(st, inst, *timeout, func(f string, a ...interface{}) { fmt.Fprintf(os.Stderr, "deploy-local: "+f+"\n", a...) })
	case "ssh":
		// deploy-local ssh G/i [--root ROOT] -- COMMAND [ARGS...]
		if len(args) < 1 {
			usage()
		}
		name := args[0]
		fs.Parse(args[1:])
		rest := fs.Args()
		if len(rest) == 0 {
			rest = []string{"/bin/bash"}
		}
		st := load(*root)
		inst, ierr := st.Instance(name)
		if ierr != nil {
			fail(ierr)
		}
		cmd := deploylocal.Command(inst, rest[0], rest[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err = cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
	case "down":
		fs.Parse(args)
		err = deploylocal.Down(*root, 15*time.Minute)
	case "status":
		fs.Parse(args)
		st := load(*root)
		fmt.Printf("supervisor pid %d\n", st.Pid)
		for _, inst := range st.Instances {
			fmt.Printf("%-14s %-14s az=%s id=%s ns=%s root=%s\n", inst.Name(), inst.IP, inst.AZ, inst.ID, inst.Netns, inst.Root)
			for _, j := range inst.Jobs {
				for _, p := range j.Processes {
					state := "running"
					if p.Exited != "" {
						state = "exited: " + p.Exited
					}
					fmt.Printf("    %s/%s pid %d %s\n", j.Name, p.Name, p.Pid, state)
				}
				if j.Errand {
					fmt.Printf("    %s (errand)\n", j.Name)
				}
			}
		}
	default:
		usage()
	}
	if err != nil {
		fail(err)
	}
}

func load(root string) *deploylocal.State {
	st, err := deploylocal.Load(root)
	if err != nil {
		fail(fmt.Errorf("no deployment under %s: %w", root, err))
	}
	return st
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  deploy-local up --root ROOT [--manifest M] [-o OPS]... [-l VARS]... [-v K=V]... [--vars-store F] [--tarball T] [--packages-dir D] [--keep-database]
  deploy-local errand NAME [--root ROOT] [--instance GROUP/INDEX]
  deploy-local drain GROUP/INDEX [--root ROOT] [--timeout 10m]
  deploy-local ssh GROUP/INDEX [--root ROOT] [-- COMMAND ARGS...]
  deploy-local down [--root ROOT]
  deploy-local status [--root ROOT]`)
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "deploy-local:", err)
	os.Exit(1)
}
