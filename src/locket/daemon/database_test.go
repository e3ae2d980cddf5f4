package daemon

import (
	"strings"
	"testing"
	"time"
)

// The "database" object (the BOSH job's SQL properties) sets the driver and
// the connection string.
func TestConfigDatabaseParts(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(`{"database":{"driver":"sqlite","schema":"locket","sqlite_dir":"/store"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseDriver != "sqlite" || c.DatabaseConnectionString != "/store/locket.db" {
		t.Errorf("got %q %q", c.DatabaseDriver, c.DatabaseConnectionString)
	}
	if _, err := ParseConfig(strings.NewReader(`{"database":{"driver":"oracle"}}`)); err == nil || !strings.Contains(err.Error(), "database: driver must be") {
		t.Errorf("err = %v", err)
	}
}

// Locket keeps as many idle connections as it may open unless told
// otherwise; the server limits come from the file.
func TestConfigPoolAndLimits(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(`{"database_driver":"postgres","database_connection_string":"postgres://x@db/d","max_open_database_connections":50,"handshake_timeout":"3s","max_concurrent_streams":7}`))
	if err != nil {
		t.Fatal(err)
	}
	if sc := c.storeConfig(); sc.MaxOpenConns != 50 || sc.MaxIdleConns != 50 {
		t.Errorf("pool %d open / %d idle; want 50 / 50", sc.MaxOpenConns, sc.MaxIdleConns)
	}
	if l := c.serverLimits(); l.HandshakeTimeout != 3*time.Second || l.MaxConcurrentStreams != 7 {
		t.Errorf("limits %+v", l)
	}
	c.MaxIdleDatabaseConnections = 5
	if sc := c.storeConfig(); sc.MaxIdleConns != 5 {
		t.Errorf("explicit idle %d; want 5", sc.MaxIdleConns)
	}
	c.HandshakeTimeout = -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "handshake_timeout") {
		t.Errorf("negative handshake_timeout: %v", err)
	}
}
