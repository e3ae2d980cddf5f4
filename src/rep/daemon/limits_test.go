package daemon

import (
	"strings"
	"testing"
)

// TestServerLimitsPartialAndValidated: server_limits may set some fields
// (the rest stay unset, taking serve's defaults); a bad one is named.
func TestServerLimitsPartialAndValidated(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(`{"server_limits": {"max_connections": 5, "max_header_bytes": 100}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerLimits.MaxConnections != 5 || c.ServerLimits.ReadHeaderTimeout != 0 {
		t.Fatalf("server_limits = %+v", c.ServerLimits)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "server_limits.max_header_bytes 100 is too small") {
		t.Fatalf("Validate = %v", err)
	}
}
