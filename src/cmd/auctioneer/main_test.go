package main

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	lmodels "code.cloudfoundry.org/locket/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/auctioneer/daemon"
	"github.com/diego-go/diego/src/auctioneer/fakerep"
	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/sqllock"
	"github.com/diego-go/diego/src/pki"
)

func TestParseConfig(t *testing.T) {
	c, err := daemon.Parse(strings.NewReader(`{"ca_file": "ca", "server_cert_file": "crt", "server_key_file": "key", "rep_ca_file": "rep-ca", "cell_state_timeout": "2s", "batch_interval": 1000}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddress != "0.0.0.0:9016" || c.LogLevel != "info" || c.StartingContainerWeight != 0.25 ||
		time.Duration(c.CellStateTimeout) != 2*time.Second || time.Duration(c.BatchInterval) != time.Microsecond ||
		time.Duration(c.CommunicationTimeout) != 10*time.Second || time.Duration(c.LockTTL) != 15*time.Second {
		t.Errorf("defaults = %+v", c)
	}
	if c.LocketCAFile != "ca" || c.BBSClientCertFile != "crt" || c.RepClientKeyFile != "key" || c.RepCAFile != "rep-ca" {
		t.Errorf("client files do not default to the server's: %+v", c)
	}
	for _, bad := range []string{`{"listen_adress": "x"}`, `{"cell_state_timeout": "soon"}`, `{} {}`, `[`} {
		if _, err := daemon.Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("daemon.Parse(%s) accepted it", bad)
		}
	}
}

func certs(t *testing.T) *pki.Bundle { return testutil.MutualTLS(t).Bundle }

func validConfig(b *pki.Bundle) daemon.Config {
	c := daemon.DefaultConfig()
	c.CAFile, c.ServerCertFile, c.ServerKeyFile = b.CACert, b.ServerCert, b.ServerKey
	c.LocketAddress, c.BBSAddress = "127.0.0.1:8891", "https://127.0.0.1:8889"
	c.LocketCAFile, c.LocketClientCertFile, c.LocketClientKeyFile = b.CACert, b.ClientCert, b.ClientKey
	c.BBSCAFile, c.BBSClientCertFile, c.BBSClientKeyFile = b.CACert, b.ClientCert, b.ClientKey
	c.RepCAFile, c.RepClientCertFile, c.RepClientKeyFile = b.CACert, b.ClientCert, b.ClientKey
	return c
}

func TestValidate(t *testing.T) {
	b := certs(t)
	if err := validConfig(b).Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	err := daemon.DefaultConfig().Validate()
	for _, want := range []string{"locket_address is required", "bbs_address is required", "ca_file is required", "rep_client_key_file is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("empty config: error %v should say %q", err, want)
		}
	}
	for _, tc := range []struct {
		change func(*daemon.Config)
		want   string
	}{
		{func(c *daemon.Config) { c.ListenAddress = "9016" }, "listen_address"},
		{func(c *daemon.Config) { c.LocketAddress = "locket" }, "locket_address"},
		{func(c *daemon.Config) { c.MetricsAddress = "localhost" }, "metrics_address"},
		{func(c *daemon.Config) { c.BBSAddress = "http://bbs:8889" }, "bbs_address"},
		{func(c *daemon.Config) { c.RepCAFile = "/nonexistent/ca.crt" }, "rep_ca_file"},
		{func(c *daemon.Config) { c.CellStateTimeout = 0 }, "cell_state_timeout"},
		{func(c *daemon.Config) { c.BatchInterval = -1 }, "batch_interval"},
		{func(c *daemon.Config) { c.LockTTL = daemon.Duration(1500 * time.Millisecond) }, "lock_ttl"},
		{func(c *daemon.Config) { c.LockRetryInterval = c.LockTTL }, "lock_retry_interval"},
		{func(c *daemon.Config) { c.StartingContainerWeight = -1 }, "starting_container_weight"},
		{func(c *daemon.Config) { c.StartingContainerCountMaximum = -1 }, "starting_container_count_maximum"},
		{func(c *daemon.Config) { c.LogLevel = "verbose" }, "log_level"},
	} {
		c := validConfig(b)
		tc.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v; want an error mentioning %q", err, tc.want)
		}
	}
}

func writeConfig(t *testing.T, c daemon.Config) string {
	t.Helper()
	return testutil.WriteJSON(t, "auctioneer.json", c)
}

func TestRunFlags(t *testing.T) {
	good, bad := writeConfig(t, validConfig(certs(t))), writeConfig(t, daemon.DefaultConfig())
	testutil.CheckDaemonFlags(t, cmd.Execute, "auctioneer", good, bad, "locket_address")
}

// startLocket serves a real Locket on SQLite over mutual TLS.
func startLocket(t *testing.T, b *pki.Bundle) (*locket.Service, string) {
	t.Helper()
	st, err := sqllock.Open(context.Background(), sqldb.Config{Driver: sqldb.DriverSQLite, DSN: filepath.Join(t.TempDir(), "locket.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := locket.New(context.Background(), locket.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	tlsCfg, err := pki.ServerTLSConfig(b.CACert, b.ServerCert, b.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := locket.NewGRPCServer(svc, tlsCfg)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return svc, ln.Addr().String()
}

// TestRunPlacesThroughTheBBS runs the command against a real Locket (lock
// and cell presence) and a real BBS that sends its start requests through
// auctioneer client: desired instances land on the simulated cell, an LRP
// and a task too big for it come back as a placement error and a task
// rejection in the BBS.
func TestRunPlacesThroughTheBBS(t *testing.T) {
	dir := t.TempDir()
	b, err := pki.GenerateLocal(filepath.Join(dir, "certs"), []string{"127.0.0.1"}) // shared with the BBS (bbstest Dir)
	if err != nil {
		t.Fatal(err)
	}
	svc, locketAddr := startLocket(t, b)
	serverTLS, _ := pki.ServerTLSConfig(b.CACert, b.ServerCert, b.ServerKey)
	cell, err := fakerep.Start(fakerep.Config{CellID: "cell-0", Zone: "z1", Total: rep.NewResources(4096, 65536, 100), Enforce: true, TLS: serverTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer cell.Close()
	presence, _ := json.Marshal(cell.Presence())
	if _, err := svc.LocalClient().Lock(context.Background(), &lmodels.LockRequest{
		Resource: &lmodels.Resource{Key: "cell-0", Owner: "rep-0", Value: string(presence), TypeCode: lmodels.PRESENCE}, TtlInSeconds: 600,
	}); err != nil {
		t.Fatal(err)
	}

	aucAddr := testutil.FreeAddr(t)
	// the BBS reaches the auctioneer as in production: auctioneer_address in
	// its config, a batching dispatcher in front of the auctioneer client
	h := bbstest.Start(t, bbstest.Options{Driver: sqlstore.DriverSQLite, DSN: testdb.SQLite(t), Dir: dir, AuctioneerAddress: aucAddr})

	cfg := validConfig(b)
	cfg.ListenAddress, cfg.LocketAddress, cfg.BBSAddress = aucAddr, locketAddr, h.URL
	cfg.MetricsAddress, cfg.BatchInterval, cfg.LockTTL, cfg.LockRetryInterval = testutil.FreeAddr(t), daemon.Duration(10*time.Millisecond), daemon.Duration(5*time.Second), daemon.Duration(time.Second)
	path := writeConfig(t, cfg)
	run := testutil.StartDaemon(t, "auctioneer", cmd.Execute, "-config", path)
	run.WaitFor(15*time.Second, "the auctioneer to serve", func() bool {
		conn, err := net.DialTimeout("tcp", aucAddr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})

	logger := lager.NewLogger("test")
	lrp := func(guid string, instances, memory int32) *models.DesiredLRP {
		return &models.DesiredLRP{ProcessGuid: guid, Domain: "cf-apps", RootFs: fakerep.DefaultRootFS, Instances: instances,
			MemoryMb: memory, DiskMb: 512, LogGuid: guid, Action: models.WrapAction(&models.RunAction{Path: "/bin/app", User: "vcap"}),
			MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}}}
	}
	if err := h.Client.DesireLRP(logger, "", lrp("web", 3, 512)); err != nil {
		t.Fatal(err)
	}
	if err := h.Client.DesireLRP(logger, "", lrp("huge", 1, 8192)); err != nil {
		t.Fatal(err)
	}
	if err := h.Client.DesireTask(logger, "", "big-task", "cf-tasks", &models.TaskDefinition{RootFs: fakerep.DefaultRootFS, MemoryMb: 8192,
		Action: models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"})}); err != nil {
		t.Fatal(err)
	}
	run.WaitFor(15*time.Second, "3 instances on the cell", func() bool { return len(cell.LRPs()) == 3 })
	run.WaitFor(15*time.Second, "a placement error on huge/0", func() bool {
		lrps, err := h.Client.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: "huge"})
		return err == nil && len(lrps) == 1 && strings.Contains(lrps[0].PlacementError, "insufficient resources")
	})
	run.WaitFor(15*time.Second, "big-task rejected", func() bool {
		task, err := h.Client.TaskByGuid(logger, "", "big-task")
		return err == nil && (task.RejectionCount > 0 || task.State == models.Task_Completed) && strings.Contains(task.RejectionReason+task.FailureReason, "insufficient resources")
	})

	testutil.MetricsContain(t, cfg.MetricsAddress, "auctioneer_is_leader 1", "auctioneer_lrp_instances_placed_total 3", "auctioneer_lrp_instances_failed_total 1",
		"auctioneer_tasks_failed_total", "auctioneer_cells_fetched 1", "auctioneer_auction_duration_seconds_count", "go_goroutines")

	run.Stop(20 * time.Second)
	run.LogsContain(`"msg":"auctioneer started"`, `"msg":"auctioneer serving"`, `"msg":"auction round"`, `"msg":"auctioneer stopped"`)
	if conn, err := net.DialTimeout("tcp", aucAddr, time.Second); err == nil {
		conn.Close()
		t.Error("API port still open after stop")
	}
}
