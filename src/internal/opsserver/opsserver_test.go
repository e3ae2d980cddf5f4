package opsserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestServesMetricsAndDebug(t *testing.T) {
	s, err := Start(Config{MetricsAddress: "127.0.0.1:0", Metrics: NewRegistry(), DebugAddress: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if len(s.servers) != 2 {
		t.Fatalf("%d servers, want 2", len(s.servers))
	}
	for i, tc := range []struct{ path, want string }{{"/metrics", "go_goroutines"}, {"/debug/pprof/", "goroutine"}} {
		body := get(t, "http://"+s.addrs[i]+tc.path)
		if !strings.Contains(body, tc.want) {
			t.Errorf("GET %s lacks %q", tc.path, tc.want)
		}
	}
}

func TestNothingConfiguredServesNothing(t *testing.T) {
	s, err := Start(Config{})
	if err != nil || len(s.servers) != 0 {
		t.Fatalf("Start(empty) = %d servers, %v", len(s.servers), err)
	}
	s.Shutdown(context.Background())
}

func TestBusyAddressFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(Config{MetricsAddress: "127.0.0.1:0", Metrics: NewRegistry(), DebugAddress: ln.Addr().String(), Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "debug_address") {
		t.Fatalf("Start on a busy debug_address = %v; want an error naming debug_address", err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
