// Command auctioneer places LRP instances and tasks on cells, serving the auction API while it holds the auctioneer lock.
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
	"syscall"

	"github.com/diego-go/diego/src/version"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "auctioneer:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, SIGINT/SIGTERM arrives or the lock is lost,
// then stops gracefully. Logs go to stderr as JSON.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("auctioneer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "path to the auctioneer JSON config file (required)")
	check := fs.Bool("check-config", false, "load and validate the config, then exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *showVersion {
		fmt.Fprintln(stdout, "auctioneer", version.Version)
		return nil
	}
	if *configPath == "" {
		return errors.New("-config is required (a JSON file)")
	}
	cfg, err := LoadConfig(*configPath)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintln(stdout, "config OK:", *configPath)
		return nil
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.level()}))

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return d.wait(ctx)
}
