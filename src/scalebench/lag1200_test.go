package scalebench

import (
	"context"
	"runtime"
	"testing"

	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// TestLagMeterHolds1200Subscribers subscribes the full preset's 1,200
// streams to a real BBS through one reference client and checks every one
// receives a desire's events; it logs what a subscriber costs this process.
func TestLagMeterHolds1200Subscribers(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	logger := lager.NewLogger("scalebench-test")
	const k, n = 1200, 3
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	meter, err := StartLag(context.Background(), LagConfig{
		Subscribers: k,
		Subscribe:   func(int) (events.EventSource, error) { return h.Client.SubscribeToInstanceEvents(logger) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer meter.Close()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	goroutines := runtime.NumGoroutine()

	lrp := &models.DesiredLRP{
		ProcessGuid: "many-subscribers", Domain: "scale", RootFs: "preloaded:cflinuxfs4", Instances: n, MemoryMb: 64, DiskMb: 64,
		Action:     models.WrapAction(&models.RunAction{Path: "/bin/app", User: "vcap"}),
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: "many-subscribers"}},
	}
	if err := h.Client.DesireLRP(logger, "", lrp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every subscriber to see the created instances", func() bool { return meter.Stats().MinEvents >= n })
	st := meter.Stats()
	if st.Timed != k*n || st.Ended != 0 {
		t.Errorf("stats %+v: want %d timed events and no ended stream", st, k*n)
	}
	// Heap of this process (client side and, in-process, the BBS's side).
	t.Logf("%d subscribers: %.1f KiB of heap each (client and in-process BBS), %d goroutines in all; lag p50 %v p99 %v max %v",
		k, float64(int64(after.HeapInuse)-int64(before.HeapInuse))/1024/k, goroutines, st.P50, st.P99, st.Max)
}
