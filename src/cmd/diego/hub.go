package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"syscall"

	"github.com/diego-go/diego/src/cli"
	hubdaemon "github.com/diego-go/diego/src/hub/daemon"
	"github.com/diego-go/diego/src/target"
)

var hubCommand = cli.Command{Name: "hub", Summary: "serve Diego Hub (the web UI and its JSON API) for the cluster in a target.json", Run: hub}

// hub runs `diego hub`: the Hub over the cluster a target file describes,
// on a loopback address, until SIGINT/SIGTERM.
func hub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diego hub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targetPath := fs.String("target", os.Getenv("DIEGO_TARGET"), "the cluster's target.json (default $DIEGO_TARGET)")
	listen := fs.String("listen", "127.0.0.1:8898", "host:port to serve on (a loopback address: the Hub asks no login there)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: diego hub [--target FILE] [--listen HOST:PORT]\n\nServes Diego Hub for the cluster in the target file, with its client certificate.")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *targetPath == "" {
		return &cli.UsageError{Err: errors.New("name the cluster: --target PATH/target.json or DIEGO_TARGET")}
	}
	t, err := target.Load(*targetPath)
	if err != nil {
		return err
	}
	cfg := HubConfig(t, *listen)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("the Hub's config from %s: %w", *targetPath, err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := hubdaemon.Start(cfg)
	if err != nil {
		return fmt.Errorf("%w (another --listen address?)", err)
	}
	fmt.Fprintf(stdout, "Diego Hub: %s (Ctrl-C stops it)\n", s.URL)
	return s.Wait(ctx)
}

// HubConfig is the Hub's config for the cluster in t, listening on listen:
// its client certificate, the components' addresses and metrics
// endpoints, the cells' local APIs and the log directory (when it exists).
func HubConfig(t target.File, listen string) hubdaemon.Config {
	cfg := hubdaemon.DefaultConfig()
	cfg.ListenAddress = listen
	cfg.BBS = hubdaemon.BBSConfig{URL: t.BBSURL, CACert: t.CACert, ClientCert: t.ClientCert, ClientKey: t.ClientKey}
	cfg.LocketAddress = t.LocketAddress
	cfg.AuctioneerURL = t.AuctioneerURL
	cfg.MetricsURLs = maps.Clone(t.MetricsURLs)
	cfg.LogDir = t.LogDir
	if t.LogDir != "" {
		if st, err := os.Stat(t.LogDir); err != nil || !st.IsDir() {
			cfg.LogDir = ""
		}
	}
	cfg.CellLocalURLs = map[string]string{}
	for _, c := range t.Cells {
		if c.LocalURL != "" {
			cfg.CellLocalURLs[c.CellID] = c.LocalURL
		}
	}
	return cfg
}
