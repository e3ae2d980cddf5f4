package command

import (
	"context"
	"io"
	"os/signal"
	"syscall"
)

// Tool runs a one-shot command (a simulation, a generator) with the
// process's arguments: run's context ends on SIGINT or SIGTERM, and its
// error maps to exit code 1.
func Tool(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	Main(name, func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return run(ctx, args, stdout, stderr)
	})
}
