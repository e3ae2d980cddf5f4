package daemon

import (
	"context"
	"strings"
	"testing"
)

// TestStartNamesTheFilesItCannotRead: a config whose certificate files are
// missing fails before anything listens, naming the fields to fix.
func TestStartNamesTheFilesItCannotRead(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CAFile, cfg.ServerCertFile, cfg.ServerKeyFile = "/nonexistent/ca.crt", "/nonexistent/s.crt", "/nonexistent/s.key"
	_, err := Start(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "ca_file, server_cert_file, server_key_file") {
		t.Fatalf("Start = %v; want an error naming ca_file, server_cert_file and server_key_file", err)
	}
	if err := Run(context.Background(), cfg); err == nil {
		t.Error("Run with unreadable certificates returned nil")
	}
}

func TestLevel(t *testing.T) {
	if got := DefaultConfig().Level(); got != "info" {
		t.Errorf("default Level() = %q, want info", got)
	}
}
