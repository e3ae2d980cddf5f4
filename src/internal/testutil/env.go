package testutil

import (
	"log/slog"
	"os"
	"testing"
)

// Logger logs at debug level to stderr under -v or DIEGO_TEST_LOG, and
// discards otherwise.
func Logger() *slog.Logger {
	if testing.Verbose() || os.Getenv("DIEGO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
