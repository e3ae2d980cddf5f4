package testutil

import (
	"log/slog"
	"net"
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

// FreeAddr returns a loopback host:port that was free a moment ago, for a
// server a test starts by address.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
