package acceptance

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"github.com/nats-io/nats.go"

	"github.com/diego-go/diego/src/internal/testutil"
)

// routeMessage is the part of a router.register / router.unregister
// message the routes group checks.
type routeMessage struct {
	Host                 string   `json:"host"`
	Port                 int      `json:"port"`
	URIs                 []string `json:"uris"`
	App                  string   `json:"app"`
	PrivateInstanceID    string   `json:"private_instance_id"`
	PrivateInstanceIndex string   `json:"private_instance_index"`
}

// endpoint is the host:port the message routes to.
func (m routeMessage) endpoint() string { return net.JoinHostPort(m.Host, strconv.Itoa(m.Port)) }

// routeEvent is one message seen on NATS.
type routeEvent struct {
	subject string // register or unregister
	msg     routeMessage
	at      time.Time
}

// routeWatch records the register and unregister messages for one
// hostname.
type routeWatch struct {
	hostname string
	nc       *nats.Conn
	mu       sync.Mutex
	events   []routeEvent
}

// watchRoutes subscribes to the router subjects and keeps the messages
// naming hostname, until the test ends.
func (e *env) watchRoutes(t *testing.T, hostname string) *routeWatch {
	t.Helper()
	nc, err := nats.Connect(e.cfg.NATSURL, nats.Name("diego-acceptance"))
	if err != nil {
		t.Fatalf("connecting to NATS at %s: %v", e.cfg.NATSURL, err)
	}
	w := &routeWatch{hostname: hostname, nc: nc}
	t.Cleanup(nc.Close)
	// One subscription for both subjects: NATS delivers its messages in
	// the order they were published, so the events' order is the emitter's.
	if _, err := nc.Subscribe("router.*", func(m *nats.Msg) {
		kind := strings.TrimPrefix(m.Subject, "router.")
		if kind != "register" && kind != "unregister" {
			return
		}
		var rm routeMessage
		if json.Unmarshal(m.Data, &rm) != nil || !slices.Contains(rm.URIs, hostname) {
			return
		}
		w.mu.Lock()
		w.events = append(w.events, routeEvent{subject: kind, msg: rm, at: time.Now()})
		w.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return w
}

// endpoint is where an instance's route points: its address and the host
// port of container port 8080.
func endpoint(l *models.ActualLRP) string {
	for _, p := range l.Ports {
		if p.ContainerPort == 8080 {
			return net.JoinHostPort(l.Address, strconv.Itoa(int(p.HostPort)))
		}
	}
	return ""
}

// last is the latest message of each kind per endpoint since since.
func (w *routeWatch) last(kind string, since time.Time) map[string]routeMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]routeMessage{}
	for _, ev := range w.events {
		if ev.subject == kind && !ev.at.Before(since) {
			out[ev.msg.endpoint()] = ev.msg
		}
	}
	return out
}

// registeredAfter reports whether endpoint was registered after at.
func (w *routeWatch) registeredAfter(endpoint string, at time.Time) (bool, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ev := range w.events {
		if ev.subject == "register" && ev.at.After(at) && ev.msg.endpoint() == endpoint {
			return true, ev.at
		}
	}
	return false, time.Time{}
}

// registeredBeforeUnregister reports whether a register of endpoint came
// before the last unregister of gone, in the order the emitter published.
func (w *routeWatch) registeredBeforeUnregister(endpoint, gone string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := -1
	for i, ev := range w.events {
		if ev.subject == "unregister" && ev.msg.endpoint() == gone {
			last = i
		}
	}
	for i := 0; i < last; i++ {
		ev := w.events[i]
		if ev.subject == "register" && ev.msg.endpoint() == endpoint {
			return true
		}
	}
	return false
}

func (w *routeWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, ev := range w.events {
		fmt.Fprintf(&b, "\n  %s %s:%d #%s %s", ev.subject, ev.msg.Host, ev.msg.Port, ev.msg.PrivateInstanceIndex, ev.at.Format("15:04:05.000"))
	}
	return b.String()
}

// routedLRP is the sample app with a cf-router route of hostname to 8080.
func (e *env) routedLRP(processGuid, domain, hostname string, instances int32, env ...*models.EnvironmentVariable) *models.DesiredLRP {
	lrp := e.appLRP(processGuid, domain, instances, env...)
	raw := json.RawMessage(fmt.Sprintf(`[{"hostnames":[%q],"port":8080}]`, hostname))
	lrp.Routes = &models.Routes{"cf-router": &raw}
	return lrp
}

// expectRegistered waits until every RUNNING instance's endpoint has been
// registered for the hostname since since, with its instance guid and
// index.
func (w *routeWatch) expectRegistered(t *testing.T, e *env, processGuid string, n int, since time.Time) []*models.ActualLRP {
	t.Helper()
	var lrps []*models.ActualLRP
	testutil.Eventually(t, 60*time.Second, fmt.Sprintf("router.register for %d instances of %s", n, processGuid), func() (bool, string) {
		lrps = e.actuals(t, processGuid)
		if !running(lrps, n) {
			return false, describe(lrps)
		}
		reg := w.last("register", since)
		for _, l := range lrps {
			m, ok := reg[endpoint(l)]
			if !ok {
				return false, fmt.Sprintf("no register for #%d at %s; seen:%s", l.Index, endpoint(l), w)
			}
			if m.PrivateInstanceID != l.InstanceGuid || m.PrivateInstanceIndex != strconv.Itoa(int(l.Index)) || m.App != processGuid {
				return false, fmt.Sprintf("register for #%d: %+v, want instance %s index %d app %s", l.Index, m, l.InstanceGuid, l.Index, processGuid)
			}
		}
		return true, ""
	})
	return lrps
}

// expectUnregistered waits for router.unregister of endpoint since since.
func (w *routeWatch) expectUnregistered(t *testing.T, endpoint string, since time.Time, what string) time.Time {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, "router.unregister of "+endpoint+" ("+what+")", func() (bool, string) {
		_, ok := w.last("unregister", since)[endpoint]
		return ok, "seen:" + w.String()
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.events) - 1; i >= 0; i-- {
		ev := w.events[i]
		if ev.subject == "unregister" && ev.msg.endpoint() == endpoint {
			return ev.at
		}
	}
	return time.Time{}
}

// testRoutes desires a routed app and follows it through scale up, scale
// down, a crash and its removal, checking the route emitter's messages,
// and that no route comes back for a stopped instance.
func testRoutes(t *testing.T, e *env) {
	d := e.domain(t)
	g := guid(t, "routed")
	hostname := g + ".acceptance.diego"
	w := e.watchRoutes(t, hostname)
	start := time.Now()
	e.desire(t, e.routedLRP(g, d, hostname, 1))
	w.expectRegistered(t, e, g, 1, start)

	// scale up: the new instances are registered
	up := time.Now()
	if err := e.client.UpdateDesiredLRP(e.logger, "", g, scaleTo(3)); err != nil {
		t.Fatalf("scaling %s to 3: %v", g, err)
	}
	lrps := w.expectRegistered(t, e, g, 3, start)
	t.Logf("scaled up: registers seen since the update: %d", len(w.last("register", up)))

	// scale down: the removed instance is unregistered
	var gone *models.ActualLRP
	var kept []*models.ActualLRP
	for _, l := range lrps {
		if l.State != models.ActualLRPStateRunning {
			continue
		}
		if l.Index == 2 {
			gone = l
		} else {
			kept = append(kept, l)
		}
	}
	down := time.Now()
	if err := e.client.UpdateDesiredLRP(e.logger, "", g, scaleTo(2)); err != nil {
		t.Fatalf("scaling %s to 2: %v", g, err)
	}
	stoppedAt := w.expectUnregistered(t, endpoint(gone), down, "scaled down")

	// a crash unregisters the crashed instance
	cg := guid(t, "crashing")
	chost := cg + ".acceptance.diego"
	cw := e.watchRoutes(t, chost)
	cstart := time.Now()
	e.desire(t, e.routedLRP(cg, d, chost, 1, &models.EnvironmentVariable{Name: "CRASH_AFTER", Value: "4s"}))
	clrps := cw.expectRegistered(t, e, cg, 1, cstart)
	cw.expectUnregistered(t, endpoint(clrps[0]), cstart, "crashed")

	// removing the LRP unregisters every instance
	removed := time.Now()
	if err := e.client.RemoveDesiredLRP(e.logger, "", g); err != nil {
		t.Fatalf("removing %s: %v", g, err)
	}
	unregisteredAt := map[string]time.Time{}
	for _, l := range kept {
		unregisteredAt[endpoint(l)] = w.expectUnregistered(t, endpoint(l), removed, "removed")
	}

	// No route comes back for a stopped instance: the emitter re-registers
	// what it holds every interval; wait longer than one and look.
	time.Sleep(routeRecheckWait)
	if again, at := w.registeredAfter(endpoint(gone), stoppedAt); again {
		t.Errorf("%s (scaled-down instance) registered again at %s after its unregister at %s:%s", endpoint(gone), at.Format("15:04:05.000"), stoppedAt.Format("15:04:05.000"), w)
	}
	for ep, goneAt := range unregisteredAt {
		if again, at := w.registeredAfter(ep, goneAt); again {
			t.Errorf("%s registered again at %s after the LRP was removed:%s", ep, at.Format("15:04:05.000"), w)
		}
	}
}

// routeRecheckWait is longer than the route emitter's register interval
// (20 s, the routers' default minimumRegisterIntervalInSeconds).
const routeRecheckWait = 25 * time.Second

// scaleTo is the update that sets the instance count.
func scaleTo(n int32) *models.DesiredLRPUpdate {
	u := &models.DesiredLRPUpdate{}
	u.SetInstances(n)
	return u
}

// checkEvacuatedRoutes checks the routes of an evacuation: each instance
// that ran on the evacuated cell is unregistered, and the instance that
// replaced it (same index, another cell) was registered no later than
// that: the route never pointed nowhere.
func (e *env) checkEvacuatedRoutes(t *testing.T, w *routeWatch, before, after []*models.ActualLRP, victim string, since time.Time) {
	t.Helper()
	for _, old := range before {
		if old.CellId != victim {
			continue
		}
		goneAt := w.expectUnregistered(t, endpoint(old), since, "evacuated")
		var repl *models.ActualLRP
		for _, l := range after {
			if l.Index == old.Index && l.CellId != victim && l.State == models.ActualLRPStateRunning {
				repl = l
			}
		}
		if repl == nil {
			t.Errorf("no RUNNING replacement of #%d off %s", old.Index, victim)
			continue
		}
		if !w.registeredBeforeUnregister(endpoint(repl), endpoint(old)) {
			t.Errorf("#%d: the replacement %s was not registered before the evacuated %s was unregistered (at %s):%s",
				old.Index, endpoint(repl), endpoint(old), goneAt.Format("15:04:05.000"), w)
		}
	}
}
