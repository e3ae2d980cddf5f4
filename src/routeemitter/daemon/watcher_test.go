package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/reptest"
	"github.com/diego-go/diego/src/routeemitter/table"
)

// recorder collects what the watcher emits, in order.
type recorder struct {
	mu             sync.Mutex
	register, gone []string
}

func (r *recorder) Emit(m table.Messages) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range m.Registrations {
		r.register = append(r.register, fmt.Sprintf("%s %s:%d", x.URIs[0], x.Host, x.Port))
	}
	for _, x := range m.Unregistrations {
		r.gone = append(r.gone, fmt.Sprintf("%s %s:%d", x.URIs[0], x.Host, x.Port))
	}
	return nil
}

func (r *recorder) seen(list *[]string, want string) func() (bool, string) {
	return func() (bool, string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, s := range *list {
			if s == want {
				return true, ""
			}
		}
		return false, fmt.Sprint(*list)
	}
}

func routed(pg, hostname string) *models.DesiredLRP {
	d := reptest.Sleeper(pg, "cf-apps")
	raw := json.RawMessage(fmt.Sprintf(`[{"hostnames":[%q],"port":8080}]`, hostname))
	d.Routes = &models.Routes{"cf-router": &raw}
	return d
}

func startInstance(t *testing.T, h *bbstest.Harness, pg string, hostPort uint32) {
	t.Helper()
	log := lager.NewLogger("test")
	key := models.NewActualLRPKey(pg, 0, "cf-apps")
	ik := models.NewActualLRPInstanceKey("ig-"+pg, "cell-1")
	if err := h.Client.ClaimActualLRP(log, "", &key, &ik); err != nil {
		t.Fatalf("claiming: %v", err)
	}
	net := models.NewActualLRPNetInfo("10.0.0.5", "10.255.0.2", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(hostPort, 8080))
	if err := h.Client.StartActualLRP(log, "", &key, &ik, &net, nil, nil, true, "z1"); err != nil {
		t.Fatalf("starting: %v", err)
	}
}

// Against a real BBS: an instance already running is registered by the
// first bulk sync, a new one by its event, and a removed LRP unregistered.
func TestWatcherFollowsTheBBS(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	log := lager.NewLogger("test")
	if err := h.Client.DesireLRP(log, "", routed("pg-early", "early.example.com")); err != nil {
		t.Fatal(err)
	}
	startInstance(t, h, "pg-early", 61000)

	rec := &recorder{}
	w, err := New(h.Client, rec, WatcherConfig{}, testutil.Logger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	testutil.Eventually(t, 30*time.Second, "bulk sync registers the running instance", rec.seen(&rec.register, "early.example.com 10.0.0.5:61000"))

	if err := h.Client.DesireLRP(log, "", routed("pg-late", "late.example.com")); err != nil {
		t.Fatal(err)
	}
	startInstance(t, h, "pg-late", 62000)
	testutil.Eventually(t, 30*time.Second, "the RUNNING event registers", rec.seen(&rec.register, "late.example.com 10.0.0.5:62000"))
	if n := len(w.Registrations()); n != 2 {
		t.Fatalf("table holds %d registrations, want 2", n)
	}

	if err := h.Client.RemoveDesiredLRP(log, "", "pg-late"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "removal unregisters", rec.seen(&rec.gone, "late.example.com 10.0.0.5:62000"))

	key, ik := models.NewActualLRPKey("pg-early", 0, "cf-apps"), models.NewActualLRPInstanceKey("ig-pg-early", "cell-1")
	if err := h.Client.CrashActualLRP(log, "", &key, &ik, "boom"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "a crash unregisters", rec.seen(&rec.gone, "early.example.com 10.0.0.5:61000"))
	if n := len(w.Registrations()); n != 0 {
		t.Fatalf("table holds %d registrations after crash and removal", n)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (WatcherConfig{SyncInterval: -time.Second}).Validate(); err == nil {
		t.Fatal("negative SyncInterval accepted")
	}
}

// A bulk sync's fetch may predate events applied while it ran: replaying
// them over the fetched table keeps the swap from unregistering (then
// re-registering) what they registered.
func TestSyncReplaysEventsAppliedDuringTheFetch(t *testing.T) {
	rec := &recorder{}
	w, err := New(nil, rec, WatcherConfig{}, testutil.Logger())
	if err != nil {
		t.Fatal(err)
	}
	d := routed("pg", "a.example.com")
	running := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey("pg", 0, "cf-apps"),
		ActualLRPInstanceKey: models.NewActualLRPInstanceKey("ig", "cell-1"),
		ActualLRPNetInfo:     models.NewActualLRPNetInfo("10.0.0.5", "", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61000, 8080)),
		State:                models.ActualLRPStateRunning}
	w.apply(&models.DesiredLRPCreatedEvent{DesiredLrp: d})
	replay := w.apply(&models.ActualLRPInstanceCreatedEvent{ActualLrp: running})
	if len(rec.register) != 1 {
		t.Fatalf("registered %v", rec.register)
	}
	fetchedBefore := func() *table.Table { // the fetch saw the LRP, not the instance
		f := table.New()
		f.SetDesired(d)
		return f
	}
	w.finishSync(syncResult{table: fetchedBefore()}, replay)
	if len(rec.gone) != 0 || len(rec.register) != 1 || len(w.Registrations()) != 1 {
		t.Fatalf("after a sync with replay: registered %v, unregistered %v", rec.register, rec.gone)
	}
	w.finishSync(syncResult{table: fetchedBefore()}, nil) // without the replay the route would go
	if len(rec.gone) != 1 {
		t.Fatalf("a sync without the instance should unregister it: %v", rec.gone)
	}
}
