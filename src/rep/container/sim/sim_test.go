package sim_test

import (
	"testing"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/containertest"
	"github.com/diego-go/diego/src/rep/container/sim"
)

func newBackend(t *testing.T, mutate ...func(*sim.Config)) *sim.Backend {
	t.Helper()
	cfg := sim.Config{}
	cfg.StopGracePeriod = sim.Config{}.WithDefaults().StopGracePeriod / 5
	for _, m := range mutate {
		m(&cfg)
	}
	b, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestContract(t *testing.T) {
	containertest.Run(t, func(t *testing.T) container.Backend { return newBackend(t) })
}
