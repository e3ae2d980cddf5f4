package daemon

import (
	"testing"

	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/internal/serve/abusetest"
)

// TestServerLimitsPartialAndValidated: server_limits may set some fields
// (the rest stay unset, taking serve's defaults); a bad one is named.
func TestServerLimitsPartialAndValidated(t *testing.T) {
	abusetest.PartialLimits(t, ParseConfig, func(c Config) serve.Limits { return c.ServerLimits }, Config.Validate)
}
