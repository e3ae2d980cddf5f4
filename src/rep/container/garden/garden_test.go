package garden_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	gardenapi "code.cloudfoundry.org/garden"
	"code.cloudfoundry.org/garden/client"
	"code.cloudfoundry.org/garden/client/connection"
	"code.cloudfoundry.org/garden/server"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/containertest"
	"github.com/diego-go/diego/src/rep/container/garden"
	"github.com/diego-go/diego/src/rep/container/garden/gardenserver"
	"github.com/diego-go/diego/src/rep/container/process"
	"github.com/diego-go/diego/src/rep/container/process/processtest"
)

// processBackends gives each process backend its own host port range
// (apart from the process package's tests, which may run at the same time).
var processBackends = processtest.NewPorts(63000)

const cflinuxfs4 = "/var/vcap/packages/cflinuxfs4/rootfs.tar"

// startServer serves gb with Garden's own server on a unix socket and
// returns the socket path. The server stops at cleanup.
func startServer(t *testing.T, gb gardenapi.Backend) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gdn") // short: unix socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "garden.sock")
	srv := server.New("unix", sock, 0, 5*time.Second, gb, lager.NewLogger("garden-server"))
	// Start would not mark the server started for Stop: listen and serve here.
	if err := srv.SetupBomberman(); err != nil {
		t.Fatal(err)
	}
	l, err := srv.Listen()
	if err != nil {
		t.Fatalf("garden server: %v", err)
	}
	go srv.Serve(l)
	// Once a request is answered, Serve has marked the server started.
	if err := client.New(connection.New("unix", sock)).Ping(); err != nil {
		t.Fatalf("garden server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stopping the garden server: %v", err)
		}
	})
	return sock
}

// newProcessBackend is a fresh process backend, its containers destroyed at
// cleanup.
func newProcessBackend(t *testing.T) *process.Backend { return processBackends.New(t) }

func newClient(t *testing.T, sock string, mutate ...func(*garden.Config)) *garden.Backend {
	t.Helper()
	cfg := garden.Config{
		Address:       "unix://" + sock,
		Owner:         "test-rep",
		DefaultRootFS: map[string]string{"cflinuxfs4": cflinuxfs4},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	b, err := garden.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newBackend is the garden backend talking to a real Garden server that
// serves a fresh process backend.
func newBackend(t *testing.T) *garden.Backend {
	t.Helper()
	sock := startServer(t, gardenserver.New(newProcessBackend(t)))
	b := newClient(t, sock)
	if err := b.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestContract(t *testing.T) {
	containertest.Run(t, func(t *testing.T) container.Backend { return newBackend(t) }, containertest.WritableMounts())
}
