package abusetest

import (
	"io"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/internal/serve"
)

// PartialLimits checks a component's config file handling of server_limits:
// a block that sets some fields leaves the rest unset (serve's defaults
// apply), and a bad value is named by the config's validation. parse reads
// a config file, limits picks its server_limits and validate is its
// Validate.
func PartialLimits[C any](t *testing.T, parse func(io.Reader) (C, error), limits func(C) serve.Limits, validate func(C) error) {
	t.Helper()
	c, err := parse(strings.NewReader(`{"server_limits": {"max_connections": 5, "max_header_bytes": 100}}`))
	if err != nil {
		t.Fatal(err)
	}
	if l := limits(c); l.MaxConnections != 5 || l.ReadHeaderTimeout != 0 {
		t.Fatalf("server_limits = %+v; want max_connections 5 and the rest unset", l)
	}
	if err := validate(c); err == nil || !strings.Contains(err.Error(), "server_limits.max_header_bytes 100 is too small") {
		t.Fatalf("Validate = %v; want it to name server_limits.max_header_bytes", err)
	}
}
