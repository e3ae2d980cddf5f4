package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/diego-go/diego/src/cli"
	"github.com/diego-go/diego/src/cluster"
	"github.com/diego-go/diego/src/target"
)

var upCommand = cli.Command{Name: "up", Summary: "start a complete local cluster in the foreground (Ctrl-C stops it)", Run: up}

// up runs `diego up`: a whole cluster on this machine until SIGINT/SIGTERM.
func up(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diego up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o cluster.Options
	fs.StringVar(&o.Dir, "dir", ".diego", "state directory: certs, configs, databases, logs, containers, target.json (re-run on it to resume)")
	fs.IntVar(&o.Cells, "cells", cluster.DefaultCells, "number of reps (zones z1..z3, round robin)")
	fs.StringVar(&o.DB, "db", "", "database: empty for SQLite files in --dir, or postgres://user@host:port/db?sslmode=disable, or mysql://user:pass@host:port/db")
	fs.StringVar(&o.Backend, "backend", cluster.DefaultBackend, "container backend: process (no root) or runc (root)")
	fs.IntVar(&o.PortBase, "port-base", cluster.DefaultPortBase, "BBS port; Locket, the auctioneer and the reps listen just above it")
	fs.Func("cell-tags", "placement tags of a cell, e.g. cell-3=gpu,ssd (repeatable)", func(v string) error {
		id, tags, ok := strings.Cut(v, "=")
		if !ok || id == "" || tags == "" {
			return fmt.Errorf("want CELL_ID=TAG[,TAG...], got %q", v)
		}
		if o.CellTags == nil {
			o.CellTags = map[string][]string{}
		}
		o.CellTags[id] = append(o.CellTags[id], strings.Split(tags, ",")...)
		return nil
	})
	fs.StringVar(&o.Loggregator.Address, "loggregator-address", "", "host:port of a Loggregator agent's gRPC v2 ingress: the reps send app logs, CELL messages and container metrics there (mutual TLS)")
	fs.StringVar(&o.Loggregator.CAFile, "loggregator-ca", "", "PEM CA file of the Loggregator agent's server certificate")
	fs.StringVar(&o.Loggregator.CertFile, "loggregator-cert", "", "PEM client certificate file for the Loggregator agent")
	fs.StringVar(&o.Loggregator.KeyFile, "loggregator-key", "", "PEM key file of --loggregator-cert")
	fs.StringVar(&o.NATSURL, "nats", "", "an existing NATS server for the route emitter, nats://[user:pass@]host:port (default: embed one on port-base+4)")
	fs.BoolVar(&o.HA, "ha", false, "high availability: two Locket servers, two BBS and two auctioneers (zones z1 and z2, z2's at port-base+200..+203) on one --db (PostgreSQL or MySQL); as root, each cell in a network namespace of its own")
	fs.StringVar(&o.Vault.Address, "vault-addr", "", "Vault (KV v2) the BBS reads its key ring from, as in production (encryption_key_source vault); seeded with the cluster's key if the secret is absent")
	fs.StringVar(&o.Vault.Token, "vault-token", "", "Vault token for --vault-addr (or --vault-role-id and --vault-secret-id)")
	fs.StringVar(&o.Vault.RoleID, "vault-role-id", "", "AppRole role_id for --vault-addr (login at auth/approle)")
	fs.StringVar(&o.Vault.SecretID, "vault-secret-id", "", "AppRole secret_id of --vault-role-id")
	fs.StringVar(&o.Vault.Mount, "vault-mount", "", "KV v2 mount of the key ring secret (default secret)")
	fs.StringVar(&o.Vault.KeyPath, "vault-key-path", "", "path of the key ring secret under --vault-mount (default diego/bbs/encryption)")
	fs.StringVar(&o.Vault.CACertFile, "vault-ca-cert", "", "PEM CA file of Vault's certificate (https)")
	fs.IntVar(&o.Reencrypt.BatchSize, "reencrypt-batch-size", 0, "rows per transaction of the BBS's re-encryption after a key rotation (0: the store's default, 500 or 2000 on PostgreSQL)")
	fs.DurationVar(&o.Reencrypt.BatchPause, "reencrypt-batch-pause", 0, "pause after each batch of that re-encryption, e.g. 1.5s to watch a rotation's progress (0: none)")
	fs.BoolVar(&o.NoHub, "no-hub", false, "do not run Diego Hub (the web UI on port-base+8, hub_url in target.json)")
	fs.StringVar(&o.BinDir, "bin-dir", "", "directory holding the bbs, locket, auctioneer and rep binaries (default: next to diego)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: diego up [flags]\n\nStarts Locket, the BBS, the auctioneer and N reps on this machine and writes DIR/target.json when ready.")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if o.Cells < 1 {
		// cluster.Options takes 0 as "the default"; a 0 given here is not.
		return &cli.UsageError{Err: fmt.Errorf("--cells %d: want 1 to 50 (a cluster without cells is not supported)", o.Cells)}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	o.Out = stdout
	c, err := cluster.Up(ctx, o)
	if err != nil {
		return err
	}
	t := c.Target()
	dir, _ := filepath.Abs(o.Dir)
	fmt.Fprintf(stdout, `
Diego is running (%s backend, %d cells).
  BBS         %s   (mutual TLS)
  Locket      %s
  auctioneer  %s
  NATS        %s   (route emitter table: %s, diego routes)
  file server %s
  SSH proxy   %s   (diego ssh PROCESS_GUID/INDEX; host key %s)
  certs       CA %s, client %s / %s
  target      %s   (export DIEGO_TARGET=%[14]s)
  logs        components in %s, apps in %s
Try:  diego cells -o table        diego run hello --instances 3 --port 8080 --route hello.diego.local --ssh -- %[17]s
Ctrl-C stops everything; running it again with the same --dir resumes.
`, t.Backend, len(t.Cells), t.BBSURL, t.LocketAddress, t.AuctioneerURL, t.NATSURL, t.RouteEmitterURL, t.FileServerURL, t.SSHProxyAddress, t.SSHProxyHostFingerprint, t.CACert, t.ClientCert, t.ClientKey,
		target.Path(dir), filepath.Join(dir, "logs"), t.LogDir, filepath.Join(c.BinDir(), "sample-app"))
	if t.HubURL != "" {
		fmt.Fprintf(stdout, "Diego Hub (web UI): %s\n", t.HubURL)
	}
	c.Run(ctx)
	return nil
}

// parseFlags parses a subcommand's args into fs: help is true when -h
// asked for the usage (printed; nothing else to do); a bad flag or an
// argument left over is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, &cli.UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return false, &cli.UsageError{Err: fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	return false, nil
}
