package daemon

import (
	"strings"
	"testing"
	"time"
)

func TestSimSection(t *testing.T) {
	base := baseJSON(t)
	parse := func(extra string) (Config, error) {
		c, err := ParseConfig(strings.NewReader("{" + base + extra + "}"))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		return c, c.Validate()
	}
	c, err := parse(`, "backend": "sim", "host_ip": "10.0.0.5", "memory_mb": 2048, "max_containers": 7,
		"sim": {"start_delay": "2s", "disk_mb": 512}`)
	if err != nil {
		t.Fatal(err)
	}
	s := c.simConfig().WithDefaults()
	if s.HostIP != "10.0.0.5" || s.MemoryMB != 2048 || s.DiskMB != 512 || s.MaxContainers != 7 || time.Duration(s.StartDelay) != 2*time.Second {
		t.Errorf("sim section = %+v", s)
	}
	if c.settings().ContainerRootDir == "" || c.settings().DiskMB != 512 {
		t.Errorf("cell settings from the sim section: %+v", c.settings())
	}
	if _, err := parse(`, "backend": "sim", "sim": {"crash_exit_status": 300, "port_range_start": 9, "port_range_end": 8}`); err == nil ||
		!strings.Contains(err.Error(), "sim.crash_exit_status") || !strings.Contains(err.Error(), "sim.port range 9-8") {
		t.Errorf("bad sim section: %v", err)
	}
	if _, err := parse(`, "sim": {}`); err == nil || !strings.Contains(err.Error(), "sim section given but backend is process") {
		t.Errorf("sim section with the process backend: %v", err)
	}
	if _, err := parse(`, "backend": "simulated"`); err == nil || !strings.Contains(err.Error(), "must be process, runc, garden or sim") {
		t.Errorf("unknown backend: %v", err)
	}
}
