package scalebench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// TestLagAndRunningAgainstARealBBS subscribes K streams to a real BBS,
// desires, claims, starts and crashes instances through the reference
// client, and checks every subscriber saw every timed event, that the
// change times are the BBS's (inside the test's window), that the RUNNING
// counter follows, and that the BBS's metrics show the interval's requests.
func TestLagAndRunningAgainstARealBBS(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	logger := lager.NewLogger("scalebench-test")
	ctx := context.Background()
	scraper := Scraper{URL: "http://" + h.Daemon.HealthAddr() + "/metrics"}
	before, err := scraper.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}

	const k, n, guid = 20, 6, "lag-app"
	running := NewRunning()
	var (
		mu       sync.Mutex
		outside  []string
		windowLo = time.Now().UnixNano()
	)
	check := func(e models.Event) {
		running.Observe(e)
		if ns, ok := EventTime(e); ok && (ns < windowLo || ns > time.Now().UnixNano()) {
			mu.Lock()
			outside = append(outside, fmt.Sprintf("%s since %d", e.EventType(), ns))
			mu.Unlock()
		}
	}
	meter, err := StartLag(ctx, LagConfig{
		Subscribers: k,
		Subscribe:   func(int) (events.EventSource, error) { return h.Client.SubscribeToInstanceEvents(logger) },
		Observe:     check,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer meter.Close()
	running.SetDesired(guid, n)

	lrp := &models.DesiredLRP{
		ProcessGuid: guid, Domain: "scale", RootFs: "preloaded:cflinuxfs4", Instances: n, MemoryMb: 64, DiskMb: 64,
		Action:     models.WrapAction(&models.RunAction{Path: "/bin/app", User: "vcap"}),
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}},
	}
	if err := h.Client.DesireLRP(logger, "", lrp); err != nil {
		t.Fatal(err)
	}
	for i := range int32(n) {
		key := models.NewActualLRPKey(guid, i, "scale")
		ik := models.NewActualLRPInstanceKey(fmt.Sprintf("%s-%d", guid, i), "cell-1")
		net := models.NewActualLRPNetInfo("10.0.0.1", "", models.ActualLRPNetInfo_PreferredAddressHost)
		if err := h.Client.ClaimActualLRP(logger, "", &key, &ik); err != nil {
			t.Fatal(err)
		}
		if err := h.Client.StartActualLRP(logger, "", &key, &ik, &net, nil, nil, true, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Per instance: created (UNCLAIMED), changed to CLAIMED, changed to RUNNING.
	waitFor(t, "every subscriber to see 3 timed events per instance", func() bool {
		st := meter.Stats()
		return st.Timed == k*3*n && running.Counts().Indexes == n
	})
	st := meter.Stats()
	if st.Subscribers != k || st.MinEvents != st.MaxEvents || st.MinEvents < 3*n {
		t.Errorf("stats %+v: want %d subscribers with the same count of at least %d events", st, k, 3*n)
	}
	if st.P50 <= 0 || st.P99 < st.P50 || st.Max < st.P99 {
		t.Errorf("lag p50 %v p99 %v max %v: want 0 < p50 <= p99 <= max", st.P50, st.P99, st.Max)
	}
	if c := running.Counts(); c.LRPs != n || c.Dips != 0 {
		t.Errorf("running %+v: want %d LRPs and no dip", c, n)
	}
	mark := meter.Counts()

	// A crash: the instance leaves RUNNING (restarted at once: UNCLAIMED).
	key0 := models.NewActualLRPKey(guid, 0, "scale")
	ik0 := models.NewActualLRPInstanceKey(guid+"-0", "cell-1")
	if err := h.Client.CrashActualLRP(logger, "", &key0, &ik0, "boom"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the crash on every stream", func() bool { return meter.StatsSince(mark).Timed >= k })
	waitFor(t, "the counter to see the crash", func() bool { return running.Process(guid) == n-1 })
	if c := running.Counts(); c.Dips != 1 || c.DippedProcesses != 1 {
		t.Errorf("after a crash: %+v, want one dip in one process", c)
	}
	mu.Lock()
	if len(outside) > 0 {
		t.Errorf("events whose change time is outside the test's window: %v", outside)
	}
	mu.Unlock()

	after, err := scraper.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, l := range HistogramDelta(before, after, "bbs_request_duration_seconds") {
		counts[l.Label] = l.Count
	}
	if counts["/v1/actual_lrps/claim"] != n || counts["/v1/actual_lrps/start.r1"] != n {
		t.Errorf("request counts by route %v: want %d claims and %d starts", counts, n, n)
	}
	meter.Close()
	if err := meter.Err(); err != nil {
		t.Errorf("streams ended on their own: %v", err)
	}
}

func TestStartLagFailsWhenASubscriptionFails(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	logger := lager.NewLogger("scalebench-test")
	_, err := StartLag(context.Background(), LagConfig{
		Subscribers: 4,
		Subscribe: func(i int) (events.EventSource, error) {
			if i == 3 {
				return nil, fmt.Errorf("refused")
			}
			return h.Client.SubscribeToInstanceEvents(logger)
		},
	})
	if err == nil {
		t.Fatal("StartLag succeeded with a failing subscription")
	}
	if err := (LagConfig{}).Validate(); err == nil {
		t.Error("an empty config validated")
	}
}

// waitFor polls cond with a generous deadline (the machine is busy).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLagResubscribesAcrossABBSRestart stops the BBS under K subscribers
// and starts another on the same database (a failover): with Resubscribe
// every subscriber reopens its stream and sees the new leader's events.
func TestLagResubscribesAcrossABBSRestart(t *testing.T) {
	dir, dsn := t.TempDir(), testdb.SQLite(t)
	logger := lager.NewLogger("scalebench-test")
	var mu sync.Mutex
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: dsn, Dir: dir})
	current := func() *bbstest.Harness { mu.Lock(); defer mu.Unlock(); return h }
	const k = 3
	meter, err := StartLag(context.Background(), LagConfig{
		Subscribers: k,
		Subscribe:   func(int) (events.EventSource, error) { return current().Client.SubscribeToInstanceEvents(logger) },
		Resubscribe: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer meter.Close()
	h.Stop(t)
	h2 := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: dsn, Dir: dir})
	mu.Lock()
	h = h2
	mu.Unlock()
	waitFor(t, "every subscriber to resubscribe", func() bool { return meter.Stats().Resubscribed >= k })
	lrp := &models.DesiredLRP{
		ProcessGuid: "after-failover", Domain: "scale", RootFs: "preloaded:cflinuxfs4", Instances: 2, MemoryMb: 64, DiskMb: 64,
		Action:     models.WrapAction(&models.RunAction{Path: "/bin/app", User: "vcap"}),
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: "after-failover"}},
	}
	if err := h2.Client.DesireLRP(logger, "", lrp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new leader's events on every stream", func() bool { return meter.Stats().Timed >= k*2 })
	if st := meter.Stats(); st.Ended != 0 || st.MinEvents < 2 {
		t.Errorf("stats %+v: want no ended stream and every subscriber with both created events", st)
	}
}
