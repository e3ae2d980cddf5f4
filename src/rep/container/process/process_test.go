package process_test

import (
	"testing"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/containertest"
	"github.com/diego-go/diego/src/rep/container/process"
	"github.com/diego-go/diego/src/rep/container/process/processtest"
)

// backends gives each backend its own port range, so backends of parallel
// tests never hand out the same host port.
var backends = processtest.NewPorts(61000)

func newBackend(t *testing.T, mutate ...func(*process.Config)) *process.Backend {
	t.Helper()
	return backends.New(t, mutate...)
}

func TestContract(t *testing.T) {
	containertest.Run(t, func(t *testing.T) container.Backend { return newBackend(t) }, containertest.WritableMounts())
}
