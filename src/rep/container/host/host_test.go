package host

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := Settings{HostIP: "127.0.0.1", PortRangeStart: 61000, PortRangeEnd: 65000}
	if errs := ok.Validate(); len(errs) != 0 {
		t.Fatalf("valid settings: %v", errs)
	}
	bad := Settings{HostIP: "x", PortRangeStart: 5, PortRangeEnd: 4, StopGracePeriod: -1, MaxContainers: -1}
	got := errors.Join(bad.Validate()...).Error()
	for _, want := range []string{`host_ip "x"`, "port range 5-4", "stop_grace_period", "max_containers must not be negative"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q lack %q", got, want)
		}
	}
}

func TestCapacity(t *testing.T) {
	c, err := Settings{MemoryMB: 7, DiskMB: 8, MaxContainers: 9}.Capacity("/nonexistent")
	if err != nil || c.MemoryMB != 7 || c.DiskMB != 8 || c.MaxContainers != 9 {
		t.Errorf("configured capacity = %+v, %v", c, err)
	}
	c, err = Settings{}.Capacity(t.TempDir())
	if err != nil || c.MemoryMB <= 0 || c.DiskMB <= 0 {
		t.Errorf("detected capacity = %+v, %v", c, err)
	}
	if _, err := (Settings{MemoryMB: 1}).Capacity("/nonexistent"); err == nil || !strings.Contains(err.Error(), "set disk_mb") {
		t.Errorf("disk of a missing dir: %v", err)
	}
}
