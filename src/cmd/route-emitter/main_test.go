package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	"github.com/nats-io/nats.go"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/natsembed/natstest"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/routeemitter/routes"
)

// TestRouteEmitterCommand: the shared daemon flags, then the route-emitter
// binary as a child process with a JSON config file (as `diego up` and bpm
// run it) against a real BBS, its Locket and a NATS server: it takes the
// lock, registers a running instance on router.register and serves the
// table at GET /routes; SIGTERM stops it.
func TestRouteEmitterCommand(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t), EmbeddedLocket: true})
	ns := natstest.Start(t, nil)

	b := h.Certs
	routesAddr, healthAddr := testutil.FreeAddr(t), testutil.FreeAddr(t)
	good := testutil.WriteJSON(t, "route_emitter.json", map[string]any{
		"bbs_address": h.URL, "bbs_ca_cert_file": b.CACert, "bbs_client_cert_file": b.ClientCert, "bbs_client_key_file": b.ClientKey,
		"locket_address": h.Daemon.LocketAddr(), "uuid": "re-1", "nats_addresses": ns.Addr().String(),
		"routes_address": routesAddr, "healthcheck_address": healthAddr, "sync_interval": "5s",
	})
	bad := testutil.WriteJSON(t, "bad.json", map[string]any{"bbs_address": h.URL})
	testutil.CheckDaemonFlags(t, routeEmitterCommand.Execute, "route-emitter", good, bad, "nats_addresses is required")

	// a router: answers greetings, records registrations
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	registered := make(chan string, 16)
	nc.Subscribe("router.greet", func(m *nats.Msg) { nc.Publish(m.Reply, []byte(`{"minimumRegisterIntervalInSeconds":20}`)) })
	nc.Subscribe("router.register", func(m *nats.Msg) {
		var msg struct {
			URIs []string `json:"uris"`
			Host string   `json:"host"`
			Port int      `json:"port"`
		}
		json.Unmarshal(m.Data, &msg)
		registered <- fmt.Sprintf("%s %s:%d", msg.URIs[0], msg.Host, msg.Port)
	})
	nc.Flush()

	log := lager.NewLogger("test")
	raw := json.RawMessage(`[{"hostnames":["cmd.example.com"],"port":8080}]`)
	d := &models.DesiredLRP{ProcessGuid: "pg-cmd", Domain: "cf-apps", RootFs: "preloaded:cflinuxfs4", Instances: 1, MemoryMb: 32, DiskMb: 32,
		Routes: &models.Routes{"cf-router": &raw}, LogGuid: "log", MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: "pg-cmd"}}, Action: models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"})}
	if err := h.Client.DesireLRP(log, "", d); err != nil {
		t.Fatal(err)
	}
	key, ik := models.NewActualLRPKey("pg-cmd", 0, "cf-apps"), models.NewActualLRPInstanceKey("ig-cmd", "cell-1")
	if err := h.Client.ClaimActualLRP(log, "", &key, &ik); err != nil {
		t.Fatal(err)
	}
	netInfo := models.NewActualLRPNetInfo("10.0.0.7", "", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61007, 8080))
	if err := h.Client.StartActualLRP(log, "", &key, &ik, &netInfo, nil, nil, true, "z1"); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "route-emitter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	var logs testutil.SyncBuffer
	cmd := exec.Command(bin, "-config", good)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	select {
	case r := <-registered:
		if r != "cmd.example.com 10.0.0.7:61007" {
			t.Fatalf("registered %q", r)
		}
	case err := <-exited:
		t.Fatalf("route-emitter exited: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("no router.register\n%s", logs.String())
	}
	tbl, err := routes.Fetch(context.Background(), routesAddr)
	if err != nil || len(tbl.External) != 1 || tbl.External[0].ProcessGUID != "pg-cmd" {
		t.Fatalf("GET /routes = %+v, %v", tbl, err)
	}
	resp, err := http.Get("http://" + healthAddr + "/ping")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health check: %v %v", resp, err)
	}
	resp.Body.Close()
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("route-emitter did not stop on SIGINT")
	}
}
