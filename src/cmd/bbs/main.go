// Command bbs serves the Diego BBS API from a JSON config file.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/daemon"
	"github.com/diego-go/diego/src/internal/command"
)

func main() { command.Main("bbs", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return command.Daemon[config.Config]{
		Name:     "bbs",
		Load:     config.Load,
		LogLevel: func(c config.Config) string { return c.LogLevel },
		Serve:    serve,
	}.Run(ctx, args, stdout, stderr)
}

// serve runs the BBS; SIGHUP reloads the key ring from the config file.
func serve(ctx context.Context, cfg config.Config, path string, log *slog.Logger) error {
	d, err := daemon.Start(ctx, cfg, daemon.Options{ConfigPath: path, Logger: log})
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if _, err := d.Rotation.ReloadKeys(ctx); err != nil {
				log.Error("SIGHUP key reload refused", "err", err)
			}
		}
	}()
	return d.Wait(ctx)
}
