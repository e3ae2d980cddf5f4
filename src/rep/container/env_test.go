package container_test

import (
	"slices"
	"testing"

	"github.com/diego-go/diego/src/rep/container"
)

func TestNetworkEnvAsTheExecutor(t *testing.T) {
	got := container.NetworkEnv("10.0.0.5", "10.254.0.2", []container.PortMapping{{ContainerPort: 8080, HostPort: 61001}, {ContainerPort: 2222}})
	want := []string{
		"CF_INSTANCE_IP=10.0.0.5", "CF_INSTANCE_INTERNAL_IP=10.254.0.2",
		"CF_INSTANCE_PORT=61001", "CF_INSTANCE_ADDR=10.0.0.5:61001",
		`CF_INSTANCE_PORTS=[{"external":61001,"internal":8080},{"internal":2222}]`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("NetworkEnv with ports:\n got %q\nwant %q", got, want)
	}
	got = container.NetworkEnv("10.0.0.5", "10.254.0.2", nil)
	want = []string{"CF_INSTANCE_IP=10.0.0.5", "CF_INSTANCE_INTERNAL_IP=10.254.0.2", "CF_INSTANCE_PORT=", "CF_INSTANCE_ADDR=", "CF_INSTANCE_PORTS=[]"}
	if !slices.Equal(got, want) {
		t.Errorf("NetworkEnv without ports:\n got %q\nwant %q", got, want)
	}
}
