package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/diego-go/diego/src/cli"
	"github.com/diego-go/diego/src/scalerun"
)

var benchCommand = cli.Command{Name: "bench", Summary: "benchmarks: `diego bench scale` runs the whole system with simulated cells (docs/scale.md)", Run: bench}

// bench runs `diego bench SUBCOMMAND`; scale is the only one.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "scale" {
		fmt.Fprintln(stderr, "usage: diego bench scale [flags]")
		return &cli.UsageError{Err: errors.New("want the subcommand scale")}
	}
	return benchScale(ctx, args[1:], stdout, stderr)
}

// benchScale parses the flags into a scalerun.Config, runs it with the
// progress on stderr and prints the report's table on stdout.
func benchScale(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diego bench scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c scalerun.Config
	fs.StringVar(&c.Preset, "preset", "quick", "size: full (250,000 instances, 1,200 cells), quick (25,000, 120) or tiny (300, 10)")
	fs.IntVar(&c.Instances, "instances", 0, "instances to desire (default: the preset's)")
	fs.IntVar(&c.Cells, "cells", 0, "simulated cells (default: the preset's)")
	fs.StringVar(&c.DBDriver, "db-driver", "sqlite", "database driver: sqlite, postgres or mysql")
	fs.StringVar(&c.DBDSN, "db-dsn", "", "database connection string (default for sqlite: DIR/bbs.db; a PostgreSQL or MySQL database should be empty)")
	fs.IntVar(&c.Subscribers, "subscribers", 0, fmt.Sprintf("event-stream subscribers, each filtered to one cell as local-mode route emitters subscribe (default: one per cell, at most %d)", scalerun.MaxSubscribers))
	fs.IntVar(&c.GlobalSubscribers, "global-subscribers", 0, "event-stream subscribers reading the whole stream, next to the per-cell ones (default 2)")
	fs.BoolVar(&c.Pprof, "pprof", false, "serve the BBS's and the auctioneer's /debug/pprof on loopback (the addresses are printed)")
	fs.BoolVar(&c.Unfiltered, "unfiltered-subscribers", false, "every --subscribers subscriber reads the whole stream, as global route emitters do")
	fs.StringVar(&c.Dir, "dir", ".diego-bench-scale", "state directory: certificates, configs, logs, the SQLite database (start with an empty one)")
	fs.StringVar(&c.Out, "out", "", "where report.json, plot.svg and report.md go (default: --dir)")
	fs.StringVar(&c.BinDir, "bin-dir", "", "directory holding the locket, bbs and auctioneer binaries (default: next to diego)")
	fs.DurationVar(&c.StartDelay, "start-delay", 0, "how long a simulated instance takes to start (default 1s)")
	fs.DurationVar(&c.ConvergenceInterval, "convergence-interval", 0, "the BBS's convergence interval (default 10s; the full preset's 30s)")
	fs.DurationVar(&c.SteadyWindow, "steady", 0, "how long steady state is measured (default 5s more than two convergence intervals or a cell sync interval, whichever is longer)")
	fs.DurationVar(&c.EvacuationPollingInterval, "evacuation-polling-interval", 0, "how often a draining cell checks its instances have moved (default 2s; the rep's default is 10s)")
	fs.DurationVar(&c.CellSyncInterval, "cell-sync-interval", 0, "each cell's bulk sync interval (default: the rep's)")
	fs.DurationVar(&c.CellPresenceTTL, "cell-presence-ttl", 0, "each cell's presence TTL in Locket, whole seconds (default: the rep's 15s; the simulated cells share the control plane's cores, and a starved process lets hundreds of presences lapse at once)")
	fs.DurationVar(&c.PhaseTimeout, "phase-timeout", 0, "give up on a phase after this long (default 20m)")
	fs.IntVar(&c.BBSMemoryLimitMB, "bbs-memory-limit-mb", 0, "the BBS's memory_limit_mb: a soft memory limit for Go's runtime, in MiB (default: the full preset's 512, none for the others; negative: none)")
	fs.IntVar(&c.ControlNice, "control-nice", -5, "niceness of Locket, the BBS and the auctioneer: the simulated cells share their cores but stand in for other machines (0: unchanged; below 0 needs root)")
	fs.DurationVar(&c.LockTTL, "lock-ttl", 0, "the BBS's and the auctioneer's lock TTL in Locket; a killed BBS's lock passes to the standby once it expires (default 15s)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: diego bench scale [flags]\n\nStarts Locket, the BBS and the auctioneer as processes and simulated cells in this one, desires LRPs\nin the reference benchmark's mix, then loses a cell, drains 10% of them and (PostgreSQL or MySQL, with a\nstandby BBS) kills the active BBS; prints the figures.")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, "logs"), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(c.Dir, "logs", "cells.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	c.Logger = slog.New(slog.NewJSONHandler(logf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c.Progress = stderr
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := scalerun.Run(ctx, c)
	if rep != nil {
		if werr := rep.WriteText(stdout); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}
