// Package processtest gives tests fresh process backends on their own
// host port ranges, destroyed at the end of the test.
package processtest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/process"
)

// Ports hands out host port ranges of 20 from a first port, so backends of
// parallel tests never hand out the same host port. Give each test binary
// its own first port.
type Ports struct{ next atomic.Uint32 }

// NewPorts starts at first.
func NewPorts(first uint32) *Ports {
	p := &Ports{}
	p.next.Store(first)
	return p
}

// New is a fresh process backend on the next 20 host ports (a 300 ms stop
// grace period, then mutate); its containers are destroyed at cleanup and a
// failure to destroy one fails the test.
func (p *Ports) New(t testing.TB, mutate ...func(*process.Config)) *process.Backend {
	t.Helper()
	start := p.next.Add(20) - 20
	cfg := process.Config{
		RootDir: t.TempDir(),
		Settings: host.Settings{
			PortRangeStart:  start,
			PortRangeEnd:    start + 19,
			StopGracePeriod: host.Duration(300 * time.Millisecond),
		},
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
