// Command auction-sim runs the real auctioneer, over its mutual-TLS API, against simulated cells and prints placement quality and throughput.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/diego-go/diego/src/auctionsim"
	"github.com/diego-go/diego/src/internal/command"
	"github.com/diego-go/diego/src/internal/jsonconfig"
)

func main() { command.Tool("auction-sim", run) }

// run parses flags, simulates, and prints the report; it fails when a cell
// was over-committed or a process's zones differ by more than one instance.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := auctionsim.DefaultConfig()
	fs := flag.NewFlagSet("auction-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.Cells, "cells", cfg.Cells, "simulated cells")
	fs.IntVar(&cfg.Zones, "zones", cfg.Zones, "availability zones (cells spread round-robin)")
	fs.IntVar(&cfg.Instances, "instances", cfg.Instances, "LRP instances to place")
	fs.IntVar(&cfg.Processes, "processes", cfg.Processes, "desired LRPs the instances belong to")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "instances per POST /v1/lrps")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "POSTs in flight at once")
	mix := fs.String("memory-mix", "256:3,512:4,1024:2,2048:1", "process memory sizes in MB and their weights")
	cellMem := fs.Int("cell-memory", int(cfg.CellMemoryMB), "memory per cell, MB")
	cellDisk := fs.Int("cell-disk", int(cfg.CellDiskMB), "disk per cell, MB")
	fs.IntVar(&cfg.CellContainers, "cell-containers", cfg.CellContainers, "containers per cell")
	fs.DurationVar(&cfg.StartingFor, "start-time", cfg.StartingFor, "how long a new container counts as starting")
	fs.BoolVar(&cfg.Enforce, "enforce", cfg.Enforce, "cells reject work that does not fit (default: they take everything, so over-commitment shows)")
	fs.DurationVar(&cfg.BatchInterval, "batch-interval", cfg.BatchInterval, "the auctioneer's batch interval")
	fs.Float64Var(&cfg.Auction.StartingContainerWeight, "starting-container-weight", cfg.Auction.StartingContainerWeight, "auction weight per starting container")
	fs.Float64Var(&cfg.Auction.BinPackFirstFitWeight, "bin-pack-first-fit-weight", cfg.Auction.BinPackFirstFitWeight, "auction weight per cell index")
	fs.IntVar(&cfg.Auction.StartingContainerCountMaximum, "starting-container-count-maximum", 0, "containers starting at once across the cluster (0: no limit)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed for the processes' memory sizes")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "give up when not everything is placed by then")
	logLevel := fs.String("log-level", "error", "auctioneer log level (JSON on stderr)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.MemoryMix, err = auctionsim.ParseMemoryMix(*mix); err != nil {
		return err
	}
	cfg.CellMemoryMB, cfg.CellDiskMB = int32(*cellMem), int32(*cellDisk)
	level, err := jsonconfig.Level(*logLevel)
	if err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := auctionsim.Run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	return rep.Check()
}
