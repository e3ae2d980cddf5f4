package daemon

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/container"
)

// baseJSON is a valid config without a backend choice, for the
// combination tests below.
func baseJSON(t *testing.T) string {
	t.Helper()
	b, err := pki.GenerateLocal(filepath.Join(t.TempDir(), "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return `"cell_id": "c1", "locket_address": "127.0.0.1:8891", "bbs_address": "https://127.0.0.1:8889",
		"ca_file": "` + b.CACert + `", "cert_file": "` + b.ServerCert + `", "key_file": "` + b.ServerKey + `",
		"bbs_ca_file": "` + b.CACert + `", "bbs_client_cert_file": "` + b.ClientCert + `", "bbs_client_key_file": "` + b.ClientKey + `"`
}

func TestBackendSections(t *testing.T) {
	base := baseJSON(t)
	parse := func(extra string) (Config, error) {
		c, err := ParseConfig(strings.NewReader("{" + base + extra + "}"))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		return c, c.Validate()
	}

	// process: the top level fills the section where it is empty.
	c, err := parse(`, "container_root_dir": "/data/c", "host_ip": "10.0.0.5", "memory_mb": 2048, "max_containers": 7,
		"process": {"memory_mb": 512}`)
	if err != nil {
		t.Fatal(err)
	}
	p := c.processConfig()
	if p.RootDir != "/data/c" || p.HostIP != "10.0.0.5" || p.MemoryMB != 512 || p.MaxContainers != 7 ||
		len(p.RootFSes) != 1 || p.RootFSes[0] != "cflinuxfs4" {
		t.Errorf("process section = %+v", p)
	}
	if c.LocketCAFile != c.BBSCAFile || c.LocketClientKeyFile != c.BBSClientKeyFile {
		t.Errorf("locket client files do not default to the BBS's: %+v", c.Settings)
	}

	// runc: state_dir stands in for container_root_dir.
	c, err = parse(`, "backend": "runc", "runc": {"state_dir": "/data/runc", "rootfses": {"cflinuxfs4": "/rootfs"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if c.settings().ContainerRootDir != "/data/runc" || c.runcConfig().StateDir != "/data/runc" {
		t.Errorf("runc dirs: %q %q", c.settings().ContainerRootDir, c.runcConfig().StateDir)
	}

	// garden: no container_root_dir needed.
	if _, err := parse(`, "backend": "garden", "garden": {"address": "tcp://127.0.0.1:7777", "default_rootfs": {"preloaded:cflinuxfs4": "/r.tar"}}`); err != nil {
		t.Fatal(err)
	}
	if _, err := parse(`, "backend": "garden", "garden": {"network": "udp"}, "process": {}`); err == nil ||
		!strings.Contains(err.Error(), `garden.network "udp"`) || !strings.Contains(err.Error(), "process section given but backend is garden") {
		t.Errorf("bad garden config: %v", err)
	}
}

type fixedCapacity struct {
	container.Backend
	c container.Capacity
}

func (f fixedCapacity) Capacity(context.Context) (container.Capacity, error) { return f.c, nil }

func TestCapacityOverride(t *testing.T) {
	inner := fixedCapacity{c: container.Capacity{MemoryMB: 8000, DiskMB: 9000, MaxContainers: 250}}
	got, err := capacityOverride{Backend: inner, cap: container.Capacity{MemoryMB: 4000}}.Capacity(context.Background())
	if err != nil || got != (container.Capacity{MemoryMB: 4000, DiskMB: 9000, MaxContainers: 250}) {
		t.Errorf("capacity = %+v, %v", got, err)
	}
}
