package config

import (
	"strings"
	"testing"
)

// The "database" object (the BOSH job's SQL properties) sets the driver and
// the connection string; a problem in it is named after the field.
func TestDatabaseParts(t *testing.T) {
	dir := writeFiles(t)
	body := strings.TrimSuffix(minimal(dir), "}")
	c, err := Parse(strings.NewReader(body + `,"database":{"driver":"postgres","host":"db","schema":"diego","username":"u"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseDriver != "postgres" || c.DatabaseConnectionString != "postgres://u@db:5432/diego?sslmode=disable" {
		t.Errorf("got %q %q", c.DatabaseDriver, c.DatabaseConnectionString)
	}
	if _, err := Parse(strings.NewReader(body + `,"database":{"driver":"postgres"}}`)); err == nil || !strings.Contains(err.Error(), "database: host is required") {
		t.Errorf("err = %v", err)
	}
}
