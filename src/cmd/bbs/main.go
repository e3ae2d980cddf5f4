// Command bbs serves the Diego BBS API from a JSON config file.
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

	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/daemon"
	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/version"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bbs:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bbs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "path to the BBS JSON config file (required)")
	check := fs.Bool("check-config", false, "load and validate the config, then exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "bbs", version.Version)
		return nil
	}
	if *configPath == "" {
		return errors.New("-config is required (a JSON file; see docs/bbs-config.md)")
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintln(stdout, "config OK:", *configPath)
		return nil
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level(cfg.LogLevel)}))

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := daemon.Start(ctx, cfg, daemon.Options{ConfigPath: *configPath, Logger: log})
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			if _, err := d.Rotation.ReloadKeys(ctx); err != nil {
				log.Error("SIGHUP key reload refused", "err", err)
			}
		}
	}()
	return d.Wait(ctx)
}

func level(s string) slog.Level {
	l, _ := jsonconfig.Level(s) // validated with the config
	return l
}
