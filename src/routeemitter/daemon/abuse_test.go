package daemon

import (
	"testing"

	"github.com/diego-go/diego/src/internal/serve/abusetest"
)

// TestStandsUpToAbuse: the routes and health check servers cut slow
// clients, answer oversized headers 431 and serve at most max_connections
// at once, while a well-behaved client is served.
func TestStandsUpToAbuse(t *testing.T) {
	c := newCluster(t, nil)
	cfg := c.config()
	cfg.HealthCheckAddress = "127.0.0.1:0"
	cfg.ServerLimits = abusetest.Limits
	d := c.start(t, cfg)
	if d.RoutesAddr() == "" || d.HealthAddr() == "" {
		t.Fatalf("routes %q, health %q: not served", d.RoutesAddr(), d.HealthAddr())
	}
	t.Run("routes", func(t *testing.T) {
		abusetest.Run(t, abusetest.Target{Addr: d.RoutesAddr(), Good: abusetest.Request{Method: "GET", Path: "/routes"}}, abusetest.Options{})
	})
	t.Run("health", func(t *testing.T) {
		abusetest.Run(t, abusetest.Target{Addr: d.HealthAddr(), Good: abusetest.Request{Method: "GET", Path: "/"}}, abusetest.Options{})
	})
}
