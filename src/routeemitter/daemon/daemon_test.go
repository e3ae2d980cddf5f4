package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"github.com/nats-io/nats.go"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/routeemitter/routes"
)

const wait = 60 * time.Second

// Global mode: only the holder of the route_emitter lock emits and serves
// a table; when it stops, the standby takes over and routes the same
// instances. GET /routes shows the table.
func TestGlobalModeEmitsOnlyWhileHoldingTheLock(t *testing.T) {
	c := newCluster(t, nil)
	r := newRouter(t, c.natsURL, 20)
	c.desire(t, "pg-a", 1, []string{"a.example.com"})
	key, ik := c.claim(t, "pg-a", 0, "cell-1")
	c.run(t, key, ik, 61000)

	cfg1 := c.config()
	cfg1.UUID = "emitter-1"
	d1 := c.start(t, cfg1)
	testutil.WaitFor(t, wait, "the first emitter to lead", d1.Emitting)
	cfg2 := c.config()
	cfg2.UUID = "emitter-2"
	d2 := c.start(t, cfg2)

	testutil.Eventually(t, wait, "the running instance registered", r.has("a.example.com 10.0.0.5:61000"))
	if d2.Emitting() {
		t.Fatal("the standby emits while the other holds the lock")
	}
	tbl, err := routes.Fetch(context.Background(), "http://"+d1.RoutesAddr())
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Mode != "global" || !tbl.Active || len(tbl.External) != 1 {
		t.Fatalf("leader's table = %+v", tbl)
	}
	got := tbl.External[0]
	if got.Route != "a.example.com" || got.Host != "10.0.0.5" || got.Port != 61000 || got.ProcessGUID != "pg-a" || got.Index != "0" || got.InstanceGUID != ik.InstanceGuid {
		t.Fatalf("route = %+v", got)
	}
	standby, err := routes.Fetch(context.Background(), d2.RoutesAddr())
	if err != nil {
		t.Fatal(err)
	}
	if standby.Active || len(standby.External) != 0 {
		t.Fatalf("standby's table = %+v", standby)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d1.Stop(ctx)
	testutil.WaitFor(t, wait, "the standby to take over", d2.Emitting)
	c.desire(t, "pg-b", 1, []string{"b.example.com"})
	key, ik = c.claim(t, "pg-b", 0, "cell-1")
	c.run(t, key, ik, 62000)
	testutil.Eventually(t, wait, "the new leader registers a new instance", r.has("b.example.com 10.0.0.5:62000"))
	testutil.Eventually(t, wait, "the new leader's table holds both", func() (bool, string) {
		tbl := d2.Table()
		return len(tbl.External) == 2, strings.Repeat("x", len(tbl.External))
	})
}

// Local mode: no lock; only the cell's instances are routed, including an
// instance of an LRP desired before the emitter started that arrives on the
// cell later (its desired LRP is fetched then).
func TestLocalModeRoutesOnlyItsCell(t *testing.T) {
	c := newCluster(t, nil)
	r := newRouter(t, c.natsURL, 20)
	c.desire(t, "pg-mine", 1, []string{"mine.example.com"})
	c.desire(t, "pg-other", 1, []string{"other.example.com"})
	c.desire(t, "pg-later", 1, []string{"later.example.com"})
	key, ik := c.claim(t, "pg-mine", 0, "cell-1")
	c.run(t, key, ik, 61000)
	key, ik = c.claim(t, "pg-other", 0, "cell-2")
	c.run(t, key, ik, 61001)

	cfg := c.config()
	cfg.CellID = "cell-1"
	cfg.LocketAddress = "" // not needed in local mode
	d := c.start(t, cfg)
	testutil.WaitFor(t, wait, "the local emitter to emit (no lock)", d.Emitting)
	testutil.Eventually(t, wait, "this cell's instance registered", r.has("mine.example.com 10.0.0.5:61000"))

	key, ik = c.claim(t, "pg-later", 0, "cell-1")
	c.run(t, key, ik, 61002)
	testutil.Eventually(t, wait, "an instance arriving on this cell registered", r.has("later.example.com 10.0.0.5:61002"))
	tbl := d.Table()
	if tbl.Mode != "local" || tbl.CellID != "cell-1" || len(tbl.External) != 2 {
		t.Fatalf("table = %+v", tbl)
	}
	if n := r.registrations("other.example.com 10.0.0.5:61001"); n != 0 {
		t.Fatalf("another cell's instance was registered %d times", n)
	}
}

// NATS with TLS client certificates, and internal routes on the
// service-discovery subjects.
func TestNATSTLSAndInternalRoutes(t *testing.T) {
	m := testutil.MutualTLS(t)
	c := newCluster(t, m.Server)
	r := newRouter(t, c.natsURL, 20, nats.Secure(m.Client))
	c.desire(t, "pg-i", 1, []string{"i.example.com"}, "i.apps.internal")
	key, ik := c.claim(t, "pg-i", 0, "cell-1")
	c.run(t, key, ik, 61000)

	cfg := c.config()
	cfg.NATSTLSEnabled = true
	cfg.NATSCACertFile, cfg.NATSClientCertFile, cfg.NATSClientKeyFile = m.Bundle.CACert, m.Bundle.ClientCert, m.Bundle.ClientKey
	cfg.EnableInternalEmitter = true
	cfg.RegisterDirectInstanceRoutes = true // the instance prefers its host address: not direct
	c.start(t, cfg)
	testutil.Eventually(t, wait, "the external route over TLS", r.has("i.example.com 10.0.0.5:61000"))
	testutil.Eventually(t, wait, "the internal route", r.has("i.apps.internal 10.255.0.9:0"))

	gone := r.await("unregister", "i.apps.internal")
	if err := c.bbs.Client.RemoveDesiredLRP(c.log, "", "pg-i"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gone:
	case <-time.After(wait):
		t.Fatal("no service-discovery.unregister after the LRP was removed")
	}
	testutil.Eventually(t, wait, "the external route unregistered", r.lacks("i.example.com 10.0.0.5:61000"))
}

// No route stays registered after its instance stops: each stop (crash,
// removal of the instance, removal of the LRP) is unregistered, and the
// periodic re-registration that follows (1 s interval) does not bring it
// back, while a surviving route keeps being re-registered.
func TestNoRouteOutlivesItsInstance(t *testing.T) {
	c := newCluster(t, nil)
	r := newRouter(t, c.natsURL, 1)
	c.desire(t, "pg-keep", 1, []string{"keep.example.com"})
	key, ik := c.claim(t, "pg-keep", 0, "cell-1")
	c.run(t, key, ik, 60000)
	cfg := c.config()
	c.start(t, cfg)
	keep := "keep.example.com 10.0.0.5:60000"
	testutil.Eventually(t, wait, "the surviving route", r.has(keep))

	stops := []struct {
		name string
		stop func(key models.ActualLRPKey, ik models.ActualLRPInstanceKey) error
	}{
		{"crash", func(key models.ActualLRPKey, ik models.ActualLRPInstanceKey) error {
			return c.bbs.Client.CrashActualLRP(c.log, "", &key, &ik, "boom")
		}},
		{"remove instance", func(key models.ActualLRPKey, ik models.ActualLRPInstanceKey) error {
			return c.bbs.Client.RemoveActualLRP(c.log, "", &key, &ik)
		}},
		{"remove LRP", func(key models.ActualLRPKey, _ models.ActualLRPInstanceKey) error {
			return c.bbs.Client.RemoveDesiredLRP(c.log, "", key.ProcessGuid)
		}},
	}
	for i, s := range stops {
		pg := "pg-stop-" + strings.ReplaceAll(s.name, " ", "-")
		route := pg + ".example.com 10.0.0.5:" + []string{"61000", "61001", "61002"}[i]
		c.desire(t, pg, 1, []string{pg + ".example.com"})
		key, ik := c.claim(t, pg, 0, "cell-1")
		c.run(t, key, ik, uint32(61000+i))
		testutil.Eventually(t, wait, s.name+": registered", r.has(route))
		if err := s.stop(key, ik); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		testutil.Eventually(t, wait, s.name+": unregistered", r.lacks(route))
		// two more re-registrations of the surviving route: a full
		// register interval has passed since the unregistration
		base := r.registrations(keep)
		testutil.WaitFor(t, wait, s.name+": a full re-registration cycle", func() bool { return r.registrations(keep) >= base+2 })
		if ok, _ := r.lacks(route)(); !ok {
			t.Fatalf("%s: %s registered again after its instance stopped", s.name, route)
		}
	}
	if n := r.count(); n != 1 {
		t.Fatalf("router holds %d routes, want only the surviving one", n)
	}
}

func TestValidate(t *testing.T) {
	b := testutil.MutualTLS(t).Bundle
	valid := func() Config {
		c := DefaultConfig()
		c.BBSAddress, c.LocketAddress, c.NATSAddresses = "bbs.service.cf.internal:8889", "127.0.0.1:8891", "10.0.0.1:4222,nats://10.0.0.2:4222"
		c.BBSCACertFile, c.BBSClientCertFile, c.BBSClientKeyFile = b.CACert, b.ClientCert, b.ClientKey
		c.LocketCACertFile, c.LocketClientCertFile, c.LocketClientKeyFile = b.CACert, b.ClientCert, b.ClientKey
		return c
	}
	testutil.CheckValidate(t, valid, DefaultConfig(),
		[]string{"bbs_address is required", "locket_address is required in global mode", "nats_addresses is required", "bbs_ca_cert_file is required"},
		[]testutil.ValidateCase[Config]{
			{Change: func(c *Config) { c.BBSAddress = "http://bbs:8889" }, Want: "bbs_address"},
			{Change: func(c *Config) { c.LocketAddress = "locket" }, Want: "locket_address"},
			{Change: func(c *Config) { c.NATSAddresses = "nats" }, Want: "nats_addresses"},
			{Change: func(c *Config) { c.NATSAddresses = "http://nats:4222" }, Want: "nats_addresses"},
			{Change: func(c *Config) { c.NATSTLSEnabled = true }, Want: "nats_ca_cert_file is required"},
			{Change: func(c *Config) { c.NATSTLSEnabled, c.NATSClientCertFile = true, "/nonexistent" }, Want: "nats_client_cert_file"},
			{Change: func(c *Config) { c.RoutesAddress = "8080" }, Want: "routes_address"},
			{Change: func(c *Config) { c.HealthCheckAddress = "x" }, Want: "healthcheck_address"},
			{Change: func(c *Config) { c.SyncInterval = 0 }, Want: "sync_interval"},
			{Change: func(c *Config) { c.FallbackRegisterInterval = -1 }, Want: "fallback_register_interval"},
			{Change: func(c *Config) { c.LockTTL = Duration(1500 * time.Millisecond) }, Want: "lock_ttl"},
			{Change: func(c *Config) { c.LockRetryInterval = c.LockTTL }, Want: "lock_retry_interval"},
			{Change: func(c *Config) { c.LogLevel = "loud" }, Want: "log_level"},
		})
	local := valid()
	local.CellID, local.LocketAddress, local.LocketCACertFile = "cell-1", "", ""
	if err := local.Validate(); err != nil {
		t.Fatalf("local mode needs no Locket: %v", err)
	}
}

func TestParseDefaultsLocketFilesToBBS(t *testing.T) {
	c, err := Parse(strings.NewReader(`{"bbs_ca_cert_file":"ca","bbs_client_cert_file":"crt","bbs_client_key_file":"key","sync_interval":"5s"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.LocketCACertFile != "ca" || c.LocketClientCertFile != "crt" || c.LocketClientKeyFile != "key" || time.Duration(c.SyncInterval) != 5*time.Second {
		t.Fatalf("parsed %+v", c)
	}
	if _, err := Parse(strings.NewReader(`{"nats_adresses":"x"}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
}

// A NATS URL's password never appears in a validation error.
func TestNATSAddressErrorsHidePasswords(t *testing.T) {
	_, err := natsServers("http://user:s3cret@nats:4222")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v", err)
	}
	got, err := natsServers("10.0.0.1:4222, nats://u:p@10.0.0.2:4222")
	if err != nil || len(got) != 2 || got[0] != "nats://10.0.0.1:4222" || got[1] != "nats://u:p@10.0.0.2:4222" {
		t.Fatalf("natsServers = %v, %v", got, err)
	}
}

// Evacuation: the evacuating instance stays routed while its replacement
// starts on another cell; once the replacement is RUNNING the BBS removes
// the evacuating record and the old address is unregistered, never before
// the new one is registered.
func TestEvacuationKeepsTheOldRouteUntilTheReplacementRuns(t *testing.T) {
	c := newCluster(t, nil)
	r := newRouter(t, c.natsURL, 20)
	c.desire(t, "pg-e", 1, []string{"e.example.com"})
	key, ik := c.claim(t, "pg-e", 0, "cell-1")
	c.run(t, key, ik, 61000)
	c.start(t, c.config())
	old, replacement := "e.example.com 10.0.0.5:61000", "e.example.com 10.0.0.6:62000"
	testutil.Eventually(t, wait, "the instance routed", r.has(old))

	netInfo := models.NewActualLRPNetInfo("10.0.0.5", "10.255.0.9", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61000, 8080))
	if _, err := c.bbs.Client.EvacuateRunningActualLRP(c.log, "", &key, &ik, &netInfo, nil, nil, true, "z1"); err != nil {
		t.Fatalf("evacuating: %v", err)
	}
	newIK := models.NewActualLRPInstanceKey("ig-pg-e-new", "cell-2")
	if err := c.bbs.Client.ClaimActualLRP(c.log, "", &key, &newIK); err != nil {
		t.Fatalf("claiming the replacement: %v", err)
	}
	// while the replacement is only claimed, the evacuating copy is routed
	testutil.Eventually(t, wait, "the evacuating copy still routed", r.has(old))
	if i := r.index("unregister", old); i >= 0 {
		t.Fatalf("the evacuating copy was unregistered before the replacement ran: %v", r.order)
	}
	net2 := models.NewActualLRPNetInfo("10.0.0.6", "10.255.0.10", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(62000, 8080))
	if err := c.bbs.Client.StartActualLRP(c.log, "", &key, &newIK, &net2, nil, nil, true, "z1"); err != nil {
		t.Fatalf("starting the replacement: %v", err)
	}
	testutil.Eventually(t, wait, "the replacement routed", r.has(replacement))
	testutil.Eventually(t, wait, "the old address unregistered", r.lacks(old))
	if reg, unreg := r.index("register", replacement), r.index("unregister", old); reg < 0 || unreg < reg {
		t.Fatalf("the old address went before the new one came: %v", r.order)
	}
}
