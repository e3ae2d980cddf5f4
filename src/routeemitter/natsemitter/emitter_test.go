package natsemitter

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"github.com/nats-io/nats.go"

	"github.com/diego-go/diego/src/internal/natsembed/natstest"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/routeemitter/table"
)

// startNATS runs a real NATS server in the test process on 127.0.0.1.
func startNATS(t *testing.T) string {
	t.Helper()
	return natstest.Start(t, nil).ClientURL()
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// router is a gorouter stand-in: it records what it hears and answers greetings.
type router struct {
	mu       sync.Mutex
	heard    map[string][]string
	greets   int
	interval int
}

func newRouter(t *testing.T, url string, interval int) *router {
	r := &router{heard: map[string][]string{}, interval: interval}
	nc := connect(t, url)
	for _, subj := range []string{SubjectRegister, SubjectUnregister} {
		if _, err := nc.Subscribe(subj, func(m *nats.Msg) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.heard[m.Subject] = append(r.heard[m.Subject], string(m.Data))
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := nc.Subscribe(SubjectGreet, func(m *nats.Msg) {
		r.mu.Lock()
		r.greets++
		interval := r.interval
		r.mu.Unlock()
		if interval > 0 {
			body, _ := json.Marshal(greeting{MinimumRegisterInterval: interval, PruneThresholdInSeconds: 3 * interval})
			_ = m.Respond(body)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *router) count(subject string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.heard[subject])
}

func (r *router) last(subject string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.heard[subject]
	if len(h) == 0 {
		return ""
	}
	return h[len(h)-1]
}

func routedTable() (*table.Table, *models.ActualLRP) {
	raw := json.RawMessage(`[{"hostnames":["dora.example.com"],"port":8080}]`)
	tb := table.New()
	tb.SetDesired(&models.DesiredLRP{ProcessGuid: "pg", LogGuid: "lg", Routes: &models.Routes{"cf-router": &raw}})
	return tb, &models.ActualLRP{
		ActualLRPKey:         models.ActualLRPKey{ProcessGuid: "pg", Index: 0},
		ActualLRPInstanceKey: models.ActualLRPInstanceKey{InstanceGuid: "ig", CellId: "c"},
		ActualLRPNetInfo:     models.ActualLRPNetInfo{Address: "10.0.0.5", Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: 61000}}},
		State:                models.ActualLRPStateRunning,
	}
}

func TestRegisterOnRunningUnregisterOnRemoval(t *testing.T) {
	url := startNATS(t)
	r := newRouter(t, url, 0)
	e, err := New(connect(t, url), Config{}, testutil.Logger())
	if err != nil {
		t.Fatal(err)
	}
	tb, running := routedTable()
	if err := e.Emit(tb.SetActual(running)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "router.register", func() bool { return r.count(SubjectRegister) == 1 })
	want := `{"host":"10.0.0.5","port":61000,"uris":["dora.example.com"],"app":"lg","private_instance_id":"ig","private_instance_index":"0","server_cert_domain_san":"ig","tags":{"component":"route-emitter"}}`
	if got := r.last(SubjectRegister); got != want {
		t.Fatalf("register\n got %s\nwant %s", got, want)
	}
	if err := e.Emit(tb.RemoveActual(running)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "router.unregister", func() bool { return r.count(SubjectUnregister) == 1 })
	if got := r.last(SubjectUnregister); got != want {
		t.Fatalf("unregister\n got %s\nwant %s", got, want)
	}
}

func TestGreetedThenReregistersOnTheRoutersInterval(t *testing.T) {
	url := startNATS(t)
	r := newRouter(t, url, 1)
	e, err := New(connect(t, url), Config{}, testutil.Logger())
	if err != nil {
		t.Fatal(err)
	}
	tb, running := routedTable()
	tb.SetActual(running)
	var mu sync.Mutex
	snapshot := func() []table.RegistryMessage { mu.Lock(); defer mu.Unlock(); return tb.Registrations() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, snapshot) }()
	// A 1 s interval: several re-registrations arrive without any table change.
	testutil.WaitFor(t, 20*time.Second, "periodic re-registration", func() bool { return r.count(SubjectRegister) >= 3 })
	r.mu.Lock()
	greets := r.greets
	r.mu.Unlock()
	if greets < 1 {
		t.Fatal("emitter never greeted")
	}
	if !strings.Contains(r.last(SubjectRegister), `"uris":["dora.example.com"]`) {
		t.Fatalf("re-registered %s", r.last(SubjectRegister))
	}
	// A router.start announcing a (long) interval re-registers at once.
	before := r.count(SubjectRegister)
	nc := connect(t, url)
	if err := nc.Publish(SubjectStart, []byte(`{"minimumRegisterIntervalInSeconds":3600,"pruneThresholdInSeconds":7200}`)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "re-registration on router.start", func() bool { return r.count(SubjectRegister) > before })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunFailsWhenNoRouterAnswers(t *testing.T) {
	url := startNATS(t)
	r := newRouter(t, url, 0) // hears greetings, never answers
	e, err := New(connect(t, url), Config{GreetRetry: 20 * time.Millisecond, MaxGreetAttempts: 3}, testutil.Logger())
	if err != nil {
		t.Fatal(err)
	}
	err = e.Run(context.Background(), func() []table.RegistryMessage { return nil })
	if err == nil || !strings.Contains(err.Error(), "3 times") {
		t.Fatalf("Run = %v, want a give-up error", err)
	}
	testutil.WaitFor(t, 10*time.Second, "greetings heard", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.greets == 3 })
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{GreetRetry: -1}).Validate(); err == nil {
		t.Fatal("negative GreetRetry accepted")
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// With a fallback interval, unanswered greetings do not stop the emitter:
// it re-registers on the fallback interval.
func TestFallbackIntervalKeepsReregistering(t *testing.T) {
	url := startNATS(t)
	r := newRouter(t, url, 0)
	e, err := New(connect(t, url), Config{GreetRetry: 10 * time.Millisecond, MaxGreetAttempts: 2, FallbackInterval: 20 * time.Millisecond}, testutil.Logger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.Run(ctx, func() []table.RegistryMessage {
			return []table.RegistryMessage{{Host: "h", Port: 1, URIs: []string{"a"}}}
		})
	}()
	testutil.WaitFor(t, 10*time.Second, "re-registration on the fallback interval", func() bool { return r.count(SubjectRegister) >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// Internal messages go to the service-discovery subjects only when enabled,
// and the internal scheduler greets service-discovery.greet and
// re-registers on service-discovery.register.
func TestInternalSubjects(t *testing.T) {
	url := startNATS(t)
	sub := connect(t, url)
	var mu sync.Mutex
	heard := map[string]int{}
	for _, subj := range []string{SubjectInternalRegister, SubjectInternalUnregister} {
		if _, err := sub.Subscribe(subj, func(m *nats.Msg) { mu.Lock(); heard[m.Subject]++; mu.Unlock() }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sub.Subscribe("service-discovery.greet", func(m *nats.Msg) {
		_ = sub.Publish(m.Reply, []byte(`{"minimumRegisterIntervalInSeconds":1}`))
	}); err != nil {
		t.Fatal(err)
	}
	sub.Flush()
	msg := table.RegistryMessage{Host: "10.255.0.2", URIs: []string{"a.internal", "0.a.internal"}}
	offConn := connect(t, url)
	off, _ := New(offConn, Config{}, testutil.Logger())
	if err := off.Emit(table.Messages{InternalRegistrations: []table.RegistryMessage{msg}}); err != nil {
		t.Fatal(err)
	}
	if err := offConn.Flush(); err != nil { // anything off sent is now at the server, before on's
		t.Fatal(err)
	}
	on, _ := New(connect(t, url), Config{EmitInternal: true}, testutil.Logger())
	if err := on.Emit(table.Messages{InternalRegistrations: []table.RegistryMessage{msg}, InternalUnregistrations: []table.RegistryMessage{msg}}); err != nil {
		t.Fatal(err)
	}
	count := func(s string) int { mu.Lock(); defer mu.Unlock(); return heard[s] }
	testutil.WaitFor(t, 10*time.Second, "internal messages", func() bool {
		return count(SubjectInternalRegister) == 1 && count(SubjectInternalUnregister) == 1
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go on.Schedule(ctx, Service{Prefix: "service-discovery", Registrations: func() []table.RegistryMessage { return []table.RegistryMessage{msg} }})
	testutil.WaitFor(t, 10*time.Second, "periodic service-discovery.register", func() bool { return count(SubjectInternalRegister) >= 2 })
}
