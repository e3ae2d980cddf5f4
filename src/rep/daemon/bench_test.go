package daemon

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

// runningWatcher reports when each instance guid first shows RUNNING in
// the BBS's instance event stream.
type runningWatcher struct {
	mu      sync.Mutex
	at      map[string]time.Time
	waiters map[string]chan time.Time
	src     events.EventSource
}

func watchRunning(b testing.TB, f *cellFixture) *runningWatcher {
	src, err := f.h.Client.SubscribeToInstanceEvents(f.h.Log)
	if err != nil {
		b.Fatalf("subscribing to instance events: %v", err)
	}
	w := &runningWatcher{at: map[string]time.Time{}, waiters: map[string]chan time.Time{}, src: src}
	b.Cleanup(func() { _ = src.Close() })
	go func() {
		for {
			ev, err := src.Next()
			if err != nil {
				return
			}
			var guid string
			switch e := ev.(type) {
			case *models.ActualLRPInstanceChangedEvent:
				if e.After == nil || e.After.State != models.ActualLRPStateRunning {
					continue
				}
				guid = e.InstanceGuid
			case *models.ActualLRPInstanceCreatedEvent:
				if e.ActualLrp == nil || e.ActualLrp.State != models.ActualLRPStateRunning {
					continue
				}
				guid = e.ActualLrp.InstanceGuid
			default:
				continue
			}
			now := time.Now()
			w.mu.Lock()
			if _, seen := w.at[guid]; !seen {
				w.at[guid] = now
				if ch := w.waiters[guid]; ch != nil {
					ch <- now
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *runningWatcher) expect(guid string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if at, ok := w.at[guid]; ok {
		ch <- at
	} else {
		w.waiters[guid] = ch
	}
	return ch
}

// benchCell is a quiet process-backend cell with room for maxContainers
// instances of mb MB memory and disk each.
func benchCell(b *testing.B, maxContainers, mb int, extra ...func(*Settings, *Options)) *cellFixture {
	return addCell(b, newBBS(b), "cell-bench", func(c *Settings, o *Options) {
		c.MaxContainers = maxContainers
		c.MemoryMB, c.DiskMB = int64(maxContainers*mb), int64(maxContainers*mb)
		c.SyncInterval = Duration(time.Hour)
		o.ContainerOutput = io.Discard
		for _, f := range extra {
			f(c, o)
		}
	})
}

func benchDesired(pg, helper string) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: pg, Domain: "bench", RootFs: "preloaded:cflinuxfs4", Instances: 1,
		MemoryMb: 16, DiskMb: 16, Ports: []uint32{8080}, LogGuid: "log",
		MetricTags:           map[string]*models.MetricTagValue{"source_id": {Static: pg}},
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		Action:               models.WrapAction(&models.RunAction{Path: helper, User: "vcap"}),
		CheckDefinition:      &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}},
		StartTimeoutMs:       60000,
	}
}

// desireKeys desires the LRPs and returns their unclaimed actual LRP keys.
func desireKeys(b testing.TB, f *cellFixture, ds []*models.DesiredLRP) []models.ActualLRPKey {
	keys := make([]models.ActualLRPKey, len(ds))
	for i, d := range ds {
		if err := f.h.Client.DesireLRP(f.h.Log, "", d); err != nil {
			b.Fatalf("desiring %s: %v", d.ProcessGuid, err)
		}
		lrps, err := f.h.Client.ActualLRPs(f.h.Log, "", models.ActualLRPFilter{ProcessGuid: d.ProcessGuid})
		if err != nil || len(lrps) != 1 {
			b.Fatalf("actual LRP of %s: %v %v", d.ProcessGuid, lrps, err)
		}
		keys[i] = lrps[0].ActualLRPKey
	}
	return keys
}

func reportLatencies(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkWorkToRunning measures, on the process backend, the time from
// the rep receiving work (POST /work through the reference rep client) to
// the BBS announcing the instance RUNNING on its event stream: claim,
// container, a local TCP app started and its tcp check passed.
func BenchmarkWorkToRunning(b *testing.B) {
	helper := helperBin("tcpserver")
	f := benchCell(b, max(b.N, 1)+1, 16)
	benchWorkToRunning(b, f, "bench", 0, func(pg string) *models.DesiredLRP { return benchDesired(pg, helper) })
}

// benchWorkToRunning places warm instances of desired LRPs (not
// measured: they fill the cell's caches), then b.N, one at a time, and
// reports the time from POST /work to RUNNING on the event stream.
func benchWorkToRunning(b *testing.B, f *cellFixture, name string, warm int, desired func(pg string) *models.DesiredLRP) {
	w := watchRunning(b, f)
	for i := 0; i < warm; i++ {
		workToRunning(b, f, w, fmt.Sprintf("%s-warm-%d", name, i), desired)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lat = append(lat, workToRunning(b, f, w, fmt.Sprintf("%s-%d", name, i), desired))
	}
	b.StopTimer()
	reportLatencies(b, lat)
}

// workToRunning desires pg-NAME (timer stopped), then times POST /work of
// its instance ig-NAME until the BBS announces it RUNNING.
func workToRunning(b *testing.B, f *cellFixture, w *runningWatcher, name string, desired func(pg string) *models.DesiredLRP) time.Duration {
	b.StopTimer()
	d := desired("pg-" + name)
	key := desireKeys(b, f, []*models.DesiredLRP{d})[0]
	guid := "ig-" + name
	running := w.expect(guid)
	b.StartTimer()
	t0 := time.Now()
	rejected, err := f.rc.Perform(f.h.Log, rep.Work{LRPs: []rep.LRP{rep.NewLRP(guid, key,
		rep.NewResource(d.MemoryMb, d.DiskMb, 0), rep.NewPlacementConstraint(d.RootFs, nil, nil))}})
	if err != nil || len(rejected.LRPs) != 0 {
		b.Fatalf("perform: rejected %+v, %v", rejected, err)
	}
	select {
	case at := <-running:
		return at.Sub(t0)
	case <-time.After(30 * time.Second):
		b.Fatalf("%s not RUNNING after 30s", guid)
		return 0
	}
}

// BenchmarkBulkSync250 places 250 instances on one cell (batches of 50, as
// the auctioneer sends them), waits until all are RUNNING, then measures
// one bulk sync pass with the BBS.
func BenchmarkBulkSync250(b *testing.B) {
	const n, batch = 250, 50
	helper := helperBin("tcpserver")
	f := benchCell(b, n, 16)
	w := watchRunning(b, f)
	ds := make([]*models.DesiredLRP, n)
	for i := range ds {
		ds[i] = benchDesired(fmt.Sprintf("pg-sync-%d", i), helper)
	}
	keys := desireKeys(b, f, ds)
	start := time.Now()
	var waits []<-chan time.Time
	for lo := 0; lo < n; lo += batch {
		var work rep.Work
		for i := lo; i < min(lo+batch, n); i++ {
			guid := fmt.Sprintf("ig-sync-%d", i)
			waits = append(waits, w.expect(guid))
			work.LRPs = append(work.LRPs, rep.NewLRP(guid, keys[i],
				rep.NewResource(ds[i].MemoryMb, ds[i].DiskMb, 0), rep.NewPlacementConstraint(ds[i].RootFs, nil, nil)))
		}
		rejected, err := f.rc.Perform(f.h.Log, work)
		if err != nil || len(rejected.LRPs) != 0 {
			b.Fatalf("perform: %d rejected, %v", len(rejected.LRPs), err)
		}
	}
	for i, ch := range waits {
		select {
		case <-ch:
		case <-time.After(2 * time.Minute):
			b.Fatalf("instance %d not RUNNING after 2 minutes", i)
		}
	}
	allRunning := time.Since(start)

	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := f.d.SyncOnce(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if st.ActualLRPs != n || st.Containers != n || st.Removed+st.Failed+st.Abandoned+st.Destroyed != 0 {
			b.Fatalf("sync pass over a healthy cell: %+v", st)
		}
		lat = append(lat, st.Duration)
	}
	b.StopTimer()
	reportLatencies(b, lat)
	b.ReportMetric(allRunning.Seconds(), "all-250-running-s")
}
