package daemon

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	"github.com/nats-io/nats.go"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/natsembed/natstest"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/routeemitter/table"
)

// cluster is a real BBS (SQLite) with its embedded Locket and a real NATS
// server, all on 127.0.0.1, for the route emitter to run against.
type cluster struct {
	bbs     *bbstest.Harness
	natsURL string
	log     lager.Logger
}

func newCluster(tb testing.TB, natsTLS *tls.Config) *cluster {
	tb.Helper()
	h := bbstest.Start(tb, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(tb), EmbeddedLocket: true})
	s := natstest.Start(tb, natsTLS)
	return &cluster{bbs: h, natsURL: s.ClientURL(), log: lager.NewLogger("test")}
}

// config is a valid global-mode config for this cluster.
func (c *cluster) config() Config {
	b := c.bbs.Certs
	cfg := DefaultConfig()
	cfg.BBSAddress = c.bbs.URL
	cfg.BBSCACertFile, cfg.BBSClientCertFile, cfg.BBSClientKeyFile = b.CACert, b.ClientCert, b.ClientKey
	cfg.LocketAddress = c.bbs.Daemon.LocketAddr()
	cfg.LocketCACertFile, cfg.LocketClientCertFile, cfg.LocketClientKeyFile = b.CACert, b.ClientCert, b.ClientKey
	cfg.NATSAddresses = c.natsURL
	cfg.RoutesAddress = "127.0.0.1:0"
	return cfg
}

func (c *cluster) start(tb testing.TB, cfg Config) *Daemon {
	tb.Helper()
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	d, err := Start(context.Background(), cfg, Options{Logger: testutil.Logger()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	return d
}

// desire desires a routed LRP with instances and hostnames (and internal
// hostnames when given).
func (c *cluster) desire(tb testing.TB, pg string, instances int32, hostnames []string, internal ...string) {
	tb.Helper()
	d := routed(pg, "")
	d.Instances = instances
	hs, _ := json.Marshal(hostnames)
	raw := json.RawMessage(fmt.Sprintf(`[{"hostnames":%s,"port":8080}]`, hs))
	d.Routes = &models.Routes{"cf-router": &raw}
	if len(internal) > 0 {
		var ir []map[string]string
		for _, h := range internal {
			ir = append(ir, map[string]string{"hostname": h})
		}
		b, _ := json.Marshal(ir)
		in := json.RawMessage(b)
		(*d.Routes)["internal-router"] = &in
	}
	if err := c.bbs.Client.DesireLRP(c.log, "", d); err != nil {
		tb.Fatalf("desiring %s: %v", pg, err)
	}
}

// claim claims instance index of pg on cell and returns its keys.
func (c *cluster) claim(tb testing.TB, pg string, index int32, cell string) (models.ActualLRPKey, models.ActualLRPInstanceKey) {
	tb.Helper()
	key := models.NewActualLRPKey(pg, index, "cf-apps")
	ik := models.NewActualLRPInstanceKey(fmt.Sprintf("ig-%s-%d", pg, index), cell)
	if err := c.bbs.Client.ClaimActualLRP(c.log, "", &key, &ik); err != nil {
		tb.Fatalf("claiming %s/%d: %v", pg, index, err)
	}
	return key, ik
}

// run starts a claimed instance on host port port.
func (c *cluster) run(tb testing.TB, key models.ActualLRPKey, ik models.ActualLRPInstanceKey, port uint32) {
	tb.Helper()
	net := models.NewActualLRPNetInfo("10.0.0.5", "10.255.0.9", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(port, 8080))
	if err := c.bbs.Client.StartActualLRP(c.log, "", &key, &ik, &net, nil, nil, true, "z1"); err != nil {
		tb.Fatalf("starting %s/%d: %v", key.ProcessGuid, key.Index, err)
	}
}

// router is a gorouter stand-in on NATS: it answers router.greet with an
// interval and keeps the routes it was told about.
type router struct {
	mu     sync.Mutex
	routes map[string]bool            // "uri host:port" currently registered
	seen   map[string]int             // registrations heard per route
	gone   map[string]int             // unregistrations heard per route
	notify map[string]chan<- struct{} // "register|unregister uri" -> waiter
	subs   map[string]int             // messages heard per subject
	order  []string                   // "register|unregister uri host:port", in arrival order
}

func newRouter(tb testing.TB, url string, intervalSeconds int, opts ...nats.Option) *router {
	tb.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	r := &router{routes: map[string]bool{}, seen: map[string]int{}, gone: map[string]int{}, notify: map[string]chan<- struct{}{}, subs: map[string]int{}}
	greeting := []byte(fmt.Sprintf(`{"minimumRegisterIntervalInSeconds":%d,"pruneThresholdInSeconds":%d}`, intervalSeconds, 3*intervalSeconds))
	handle := func(m *nats.Msg) {
		switch m.Subject {
		case "router.register", "router.unregister", "service-discovery.register", "service-discovery.unregister":
		default:
			return
		}
		var msg table.RegistryMessage
		if err := json.Unmarshal(m.Data, &msg); err != nil {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.subs[m.Subject]++
		k := fmt.Sprintf("%s %s:%d", msg.URIs[0], msg.Host, msg.Port)
		kind := "register"
		switch m.Subject {
		case "router.register", "service-discovery.register":
			r.routes[k] = true
			r.seen[k]++
		default:
			kind = "unregister"
			delete(r.routes, k)
			r.gone[k]++
		}
		r.order = append(r.order, kind+" "+k)
		if ch, ok := r.notify[kind+"|"+msg.URIs[0]]; ok {
			delete(r.notify, kind+"|"+msg.URIs[0])
			close(ch)
		}
	}
	// one subscription, so one goroutine sees the messages in the order
	// the emitter sent them (each subscription has its own)
	if _, err := nc.Subscribe(">", handle); err != nil {
		tb.Fatal(err)
	}
	for _, s := range []string{"router.greet", "service-discovery.greet"} {
		if _, err := nc.Subscribe(s, func(m *nats.Msg) { _ = nc.Publish(m.Reply, greeting) }); err != nil {
			tb.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		tb.Fatal(err)
	}
	return r
}

// await returns a channel closed when the next kind ("register" or
// "unregister") message for uri arrives.
func (r *router) await(kind, uri string) <-chan struct{} {
	ch := make(chan struct{})
	r.mu.Lock()
	r.notify[kind+"|"+uri] = ch
	r.mu.Unlock()
	return ch
}

func (r *router) has(route string) func() (bool, string) {
	return func() (bool, string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.routes[route], fmt.Sprint(len(r.routes), " routes")
	}
}

func (r *router) lacks(route string) func() (bool, string) {
	return func() (bool, string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return !r.routes[route], "still registered"
	}
}

func (r *router) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.routes)
}

func (r *router) registrations(route string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[route]
}

// index is the position of the first message "kind route" heard (-1: none).
func (r *router) index(kind, route string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, o := range r.order {
		if o == kind+" "+route {
			return i
		}
	}
	return -1
}
