package process_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/containertest"
	"github.com/diego-go/diego/src/rep/container/process"
)

// portBase gives each backend its own port range, so backends of parallel
// tests never hand out the same host port.
var portBase atomic.Uint32

func init() { portBase.Store(61000) }

func newBackend(t *testing.T, mutate ...func(*process.Config)) *process.Backend {
	t.Helper()
	start := portBase.Add(20) - 20
	cfg := process.Config{
		RootDir:         t.TempDir(),
		PortRangeStart:  start,
		PortRangeEnd:    start + 19,
		StopGracePeriod: process.Duration(300 * time.Millisecond),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	b, err := process.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs, _ := b.Containers(context.Background())
		for _, c := range cs {
			if err := b.Destroy(context.Background(), c.Handle()); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return b
}

func TestContract(t *testing.T) {
	containertest.Run(t, func(t *testing.T) container.Backend { return newBackend(t) })
}
