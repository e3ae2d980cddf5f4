package daemon

import (
	"strings"
	"testing"
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
