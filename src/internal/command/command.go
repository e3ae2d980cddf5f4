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

// Daemon describes one command.
type Daemon[C any] struct {
	Name string
	// Load reads, defaults and validates the config file.
	Load func(path string) (C, error)
	// LogLevel is the config's log_level.
	LogLevel func(C) string
	// Serve runs until ctx ends (SIGINT/SIGTERM) and stops gracefully.
	Serve func(ctx context.Context, cfg C, path string, log *slog.Logger) error
}

// Main runs run with the process's arguments and maps its error to exit code 1.
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Run parses args and serves.
func (d Daemon[C]) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return d.Serve(ctx, cfg, *configPath, log)
}
