// Package command runs a Diego daemon's command line: the flags every daemon
// shares (-config, -check-config, -version), JSON logs on stderr, and a
// graceful stop on SIGINT or SIGTERM.
package command

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

	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/version"
)

// Daemon describes one long-running component's command: its daemon
// package's Load and Run, and nothing else. See docs/architecture.md.
type Daemon[C any] struct {
	Name string
	// Load reads, defaults and validates the config file (unknown fields rejected).
	Load func(path string) (C, error)
	// LogLevel is the config's log_level.
	LogLevel func(C) string
	// Run serves until ctx ends (SIGINT/SIGTERM) and stops gracefully. It
	// logs through slog.Default(), which Execute points at stderr as JSON.
	Run func(ctx context.Context, cfg C) error
}

// Main runs the daemon with the process's arguments and maps its error to
// exit code 1.
func (d Daemon[C]) Main() {
	Main(d.Name, d.Execute)
}

// Main runs run with the process's arguments and maps its error to exit code 1.
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Execute parses args, loads the config and runs the daemon with JSON logs
// on stderr until ctx ends or SIGINT/SIGTERM arrives.
func (d Daemon[C]) Execute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(d.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "path to the "+d.Name+" JSON config file (required)")
	check := fs.Bool("check-config", false, "load and validate the config, then exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *showVersion {
		fmt.Fprintln(stdout, d.Name, version.Version)
		return nil
	}
	if *configPath == "" {
		return errors.New("-config is required (a JSON file; see the docs for its fields)")
	}
	cfg, err := d.Load(*configPath)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintln(stdout, "config OK:", *configPath)
		return nil
	}
	level, _ := jsonconfig.Level(d.LogLevel(cfg)) // validated with the config
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})))
	defer slog.SetDefault(prev)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return d.Run(ctx, cfg)
}
