package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/sim"
	"github.com/diego-go/diego/src/rep/reptest"
)

// TestRunSimBackend runs the rep daemon as the command does (Run) with the
// sim backend: the cell joins, an instance with a TCP check definition
// becomes RUNNING without any process or port, and a stop removes it.
func TestRunSimBackend(t *testing.T) {
	h := newBBS(t)
	cfg := DefaultConfig()
	cfg.Settings = Joining("sim-run", "z1", h.URL, h.Daemon.LocketAddr(), h.Certs)
	cfg.ListenAddress, cfg.LocalAddress = "127.0.0.1:0", "127.0.0.1:0"
	cfg.ContainerRootDir = filepath.Join(t.TempDir(), "containers")
	cfg.SyncInterval = Duration(time.Second)
	cfg.Backend = BackendSim
	cfg.Sim = &sim.Config{StartDelay: host.Duration(200 * time.Millisecond)}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()

	var presence *models.CellPresence
	eventually(t, "the BBS to list the sim cell", func() (bool, string) {
		var other string
		presence, other = h.Cell("sim-run")
		return presence != nil, other
	})
	if presence.Capacity.MemoryMb != sim.DefaultMemoryMB || presence.Capacity.Containers != sim.DefaultMaxContainers {
		t.Errorf("sim cell capacity %+v", presence.Capacity)
	}
	rc := reptest.Client(t, h.Certs, presence.RepUrl, 10*time.Second)
	desired := &models.DesiredLRP{
		ProcessGuid: "pg-sim", Domain: "test", RootFs: "preloaded:cflinuxfs4", Instances: 1,
		MemoryMb: 64, DiskMb: 64, Ports: []uint32{8080}, LogGuid: "log",
		MetricTags:      map[string]*models.MetricTagValue{"source_id": {Static: "pg-sim"}},
		Action:          models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/launcher", Args: []string{"app"}, User: "vcap"}),
		CheckDefinition: &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}},
		StartTimeoutMs:  20000,
	}
	key := h.Desire(t, desired)
	reptest.Perform(t, rc, h.Log, "ig-sim", key, desired)
	eventually(t, "the simulated instance RUNNING", func() (bool, string) {
		lrps, err := h.Client.ActualLRPs(h.Log, "", models.ActualLRPFilter{ProcessGuid: "pg-sim"})
		if err != nil || len(lrps) != 1 {
			return false, "not listed"
		}
		l := lrps[0]
		return l.State == models.ActualLRPStateRunning && l.CellId == "sim-run" && l.InstanceGuid == "ig-sim", l.String()
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Run did not return after its context ended")
	}
	lrps, err := h.Client.ActualLRPs(h.Log, "", models.ActualLRPFilter{ProcessGuid: "pg-sim"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lrps {
		if l.State == models.ActualLRPStateRunning {
			t.Errorf("still RUNNING after the rep stopped: %s", l)
		}
	}
}
