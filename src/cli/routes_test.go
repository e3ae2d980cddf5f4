package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/natsembed/natstest"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/reptest"
	redaemon "github.com/diego-go/diego/src/routeemitter/daemon"
	"github.com/diego-go/diego/src/routeemitter/routes"
	"github.com/diego-go/diego/src/target"
)

// `diego routes` against a real route emitter (with a real BBS, its Locket
// and NATS), finding it through the target file's route_emitter_url.
func TestRoutesFromARunningEmitter(t *testing.T) {
	h := reptest.StartBBS(t)
	ns := natstest.Start(t, nil)
	b := h.Certs
	cfg := redaemon.DefaultConfig()
	cfg.BBSAddress, cfg.LocketAddress, cfg.NATSAddresses, cfg.RoutesAddress = h.URL, h.Daemon.LocketAddr(), ns.ClientURL(), "127.0.0.1:0"
	cfg.BBSCACertFile, cfg.BBSClientCertFile, cfg.BBSClientKeyFile = b.CACert, b.ClientCert, b.ClientKey
	cfg.LocketCACertFile, cfg.LocketClientCertFile, cfg.LocketClientKeyFile = b.CACert, b.ClientCert, b.ClientKey
	cfg.FallbackRegisterInterval = redaemon.Duration(time.Second) // no router here
	re, err := redaemon.Start(context.Background(), cfg, redaemon.Options{Logger: testutil.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { re.Stop(context.Background()) })

	d := reptest.Sleeper("web", "cf-apps")
	raw := json.RawMessage(`[{"hostnames":["web.example.com"],"port":8080}]`)
	internal := json.RawMessage(`[{"hostname":"web.apps.internal"}]`)
	d.Routes = &models.Routes{"cf-router": &raw, "internal-router": &internal}
	key := h.Desire(t, d)
	ik := models.NewActualLRPInstanceKey("ig-web-0", "cell-1")
	if err := h.Client.ClaimActualLRP(h.Log, "", &key, &ik); err != nil {
		t.Fatal(err)
	}
	netInfo := models.NewActualLRPNetInfo("10.0.0.5", "10.255.0.3", models.ActualLRPNetInfo_PreferredAddressHost,
		&models.PortMapping{ContainerPort: 8080, HostPort: 61000, ContainerTlsProxyPort: 61001, HostTlsProxyPort: 61443})
	if err := h.Client.StartActualLRP(h.Log, "", &key, &ik, &netInfo, nil, nil, true, "z1"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, "the emitter's table to hold the route", func() bool { return len(re.Table().External) == 1 })

	tpath := testutil.WriteJSON(t, "target.json", target.File{BBSURL: h.URL, CACert: b.CACert, ClientCert: b.ClientCert,
		ClientKey: b.ClientKey, RouteEmitterURL: "http://" + re.RoutesAddr()})
	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := Run(context.Background(), append([]string{"--target", tpath}, args...), &out, &errOut); err != nil {
			t.Fatalf("diego %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String(), errOut.String()
	}

	table, _ := run("routes", "-o", "table")
	for _, want := range []string{"KIND", "external  web.example.com    10.0.0.5:61000  61443     web", "internal  web.apps.internal  10.255.0.3"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	lines, _ := run("routes")
	var rows []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		rows = append(rows, m)
	}
	if len(rows) != 2 || rows[0]["kind"] != "external" || rows[0]["route"] != "web.example.com" || rows[0]["port"] != float64(61000) ||
		rows[0]["process_guid"] != "web" || rows[0]["index"] != "0" || rows[0]["instance_guid"] != "ig-web-0" || rows[1]["kind"] != "internal" {
		t.Fatalf("JSON lines = %v", rows)
	}
	doc, _ := run("routes", "--json")
	var tbl routes.Table
	if err := json.Unmarshal([]byte(doc), &tbl); err != nil {
		t.Fatal(err)
	}
	if tbl.Mode != "global" || !tbl.Active || len(tbl.External) != 1 || len(tbl.Internal) != 1 || tbl.Internal[0].URIs[1] != "0.web.apps.internal" {
		t.Fatalf("--json = %+v", tbl)
	}

	// no URL anywhere: a clear error
	bare := testutil.WriteJSON(t, "bare.json", target.File{BBSURL: h.URL})
	var out, errOut bytes.Buffer
	err = Run(context.Background(), []string{"--target", bare, "routes"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "route_emitter_url") {
		t.Fatalf("without a URL: %v", err)
	}
}
