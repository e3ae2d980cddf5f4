// Command locket serves the Locket lock service from a JSON config file.
package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/diego-go/diego/src/internal/command"
)

func main() { command.Main("locket", run) }

// run serves until ctx ends or SIGINT/SIGTERM arrives, then stops
// gracefully. Logs go to stderr as JSON.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return command.Daemon[Config]{
		Name:     "locket",
		Load:     LoadConfig,
		LogLevel: func(c Config) string { return c.LogLevel },
		Run: func(ctx context.Context, cfg Config) error {
			d, err := start(ctx, cfg, slog.Default())
			if err != nil {
				return err
			}
			return d.wait(ctx)
		},
	}.Execute(ctx, args, stdout, stderr)
}
