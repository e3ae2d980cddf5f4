package daemon

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkEmissionLatency measures, with a real BBS (SQLite), the route
// emitter in global mode, an embedded NATS server and a subscriber, and
// 10,000 routes already registered (2,500 LRPs × 2 instances × 2
// hostnames): the time from StartActualLRP to the instance's
// router.register arriving, and from its stop (crash or removal,
// alternately) to its router.unregister. Run with e.g.
//
//	go test -run XXX -bench EmissionLatency -benchtime 200x ./src/routeemitter/daemon/
//
// It reports p50 and p99 of each (ms). The router asks for a re-registration
// every 20 s and the emitter syncs every 60 s (the defaults), so this is the
// steady state.
func BenchmarkEmissionLatency(b *testing.B) { benchmarkEmission(b, time.Minute, 20, 0) }

// BenchmarkEmissionLatencyUnderLoad is BenchmarkEmissionLatency with a bulk
// sync of the 10,000 routes every second and the router asking for all of
// them to be re-registered every second: the worst case, an event waiting
// behind a sync or 10,000 re-registrations. Rounds are 50 ms apart so that
// they spread over many syncs.
func BenchmarkEmissionLatencyUnderLoad(b *testing.B) {
	benchmarkEmission(b, time.Second, 1, 50*time.Millisecond)
}

func benchmarkEmission(b *testing.B, syncInterval time.Duration, registerInterval int, pause time.Duration) {
	const lrps, instances = 2500, 2
	c := newCluster(b, nil)
	r := newRouter(b, c.natsURL, registerInterval)
	setup := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				pg := fmt.Sprintf("pg-%04d", i)
				c.desire(b, pg, instances, []string{pg + ".example.com", pg + ".apps.example.com"})
				for idx := int32(0); idx < instances; idx++ {
					key, ik := c.claim(b, pg, idx, "cell-1")
					c.run(b, key, ik, uint32(20000+i*instances+int(idx)))
				}
			}
		}()
	}
	for i := 0; i < lrps; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	cfg := c.config()
	cfg.SyncInterval = Duration(syncInterval)
	c.start(b, cfg)
	waitUntil(b, 5*time.Minute, "10,000 routes registered", func() bool { return r.count() == lrps*instances*2 })
	b.Logf("setup: %d routes registered in %s", r.count(), time.Since(setup).Round(time.Millisecond))

	var up, down []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pg := fmt.Sprintf("bench-%d-%d", b.N, i)
		host := pg + ".example.com"
		c.desire(b, pg, 1, []string{host})
		key, ik := c.claim(b, pg, 0, "cell-2")
		registered := r.await("register", host)
		start := time.Now()
		c.run(b, key, ik, 30000)
		<-registered
		up = append(up, time.Since(start))

		unregistered := r.await("unregister", host)
		start = time.Now()
		var err error
		if i%2 == 0 {
			err = c.bbs.Client.CrashActualLRP(c.log, "", &key, &ik, "benchmark")
		} else {
			err = c.bbs.Client.RemoveActualLRP(c.log, "", &key, &ik)
		}
		if err != nil {
			b.Fatal(err)
		}
		<-unregistered
		down = append(down, time.Since(start))
		time.Sleep(pause)
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"register", up}, {"unregister", down}} {
		p50, p99 := percentile(m.d, 50), percentile(m.d, 99)
		b.ReportMetric(float64(p50.Microseconds())/1000, m.name+"-p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, m.name+"-p99-ms")
		b.Logf("%s latency over %d: p50 %s, p99 %s, max %s", m.name, len(m.d), p50, p99, slices.Max(m.d))
	}
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)]
}

// waitUntil polls cond every 50 ms until it holds or within passes.
func waitUntil(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for %s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
