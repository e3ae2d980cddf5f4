// Command locket serves the Locket lock service from a JSON config file.
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
		fmt.Fprintln(os.Stderr, "locket:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends or SIGINT/SIGTERM arrives, then stops
// gracefully. Logs go to stderr as JSON.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("locket", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "path to the Locket JSON config file (required)")
	check := fs.Bool("check-config", false, "load and validate the config, then exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *showVersion {
		fmt.Fprintln(stdout, "locket", version.Version)
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
