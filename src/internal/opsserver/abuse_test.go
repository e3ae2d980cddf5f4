package opsserver

import (
	"context"
	"log/slog"
	"testing"

	"github.com/diego-go/diego/src/internal/serve/abusetest"
)

// TestStandsUpToAbuse: the metrics and debug servers run with the
// configured limits.
func TestStandsUpToAbuse(t *testing.T) {
	s, err := Start(Config{MetricsAddress: "127.0.0.1:0", Metrics: NewRegistry(), DebugAddress: "127.0.0.1:0",
		Limits: abusetest.Limits, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	for i, path := range []string{"/metrics", "/debug/pprof/"} {
		t.Run(path, func(t *testing.T) {
			abusetest.Run(t, abusetest.Target{Addr: s.addrs[i], Good: abusetest.Request{Method: "GET", Path: path}}, abusetest.Options{})
		})
	}
}
