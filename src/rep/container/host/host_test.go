package host

import (
	"errors"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/rep/container"
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

func TestDir(t *testing.T) {
	if err := Dir("root_dir", "/x"); err != nil {
		t.Errorf("absolute dir: %v", err)
	}
	if err := Dir("root_dir", ""); err == nil || err.Error() != "root_dir is required" {
		t.Errorf("empty dir: %v", err)
	}
	if err := Dir("state_dir", "rel"); err == nil || err.Error() != `state_dir "rel" must be absolute` {
		t.Errorf("relative dir: %v", err)
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

func TestPorts(t *testing.T) {
	p := NewPorts(10, 13)
	got, err := p.Allocate("a", 2, func(port uint32) bool { return port != 11 })
	if err != nil || len(got) != 2 || got[0] != 10 || got[1] != 12 {
		t.Fatalf("a = %v, %v; want [10 12] (11 is busy)", got, err)
	}
	p.Release("b", 10) // not b's
	got, err = p.Allocate("b", 1, func(uint32) bool { return true })
	if err != nil || len(got) != 1 || got[0] != 13 {
		t.Fatalf("b = %v, %v; want [13]", got, err)
	}
	if _, err := p.Allocate("c", 2, func(uint32) bool { return true }); !errors.Is(err, container.ErrNoCapacity) {
		t.Fatalf("c: %v; want no capacity", err)
	}
	p.Release("a", 10, 12)
	p.Hold("d", 10)
	got, err = p.Allocate("e", 1, func(uint32) bool { return true })
	if err != nil || len(got) != 1 || got[0] != 11 {
		t.Fatalf("e = %v, %v; want [11] (round-robin; c's try released, 10 held)", got, err)
	}
}
