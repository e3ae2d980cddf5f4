package scalebench

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/metrics"
)

func TestTrackLatencyAndRunning(t *testing.T) {
	m := metrics.New()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	r := NewRunning()
	r.Observe(models.NewActualLRPInstanceCreatedEvent(lrp("p", 0, models.ActualLRP_Ordinary, models.ActualLRPStateRunning), ""))

	rec := NewRecorder(time.Now())
	lat := LatencySampler(Scraper{URL: srv.URL}, "bbs_request_duration_seconds", "bbs p99 s")
	run := RunningSampler(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Track(ctx, 5*time.Millisecond, rec, func(ctx context.Context, now time.Time) map[string]float64 {
			// Every interval sees one 0.3 s request: p99 in (.25, .5].
			m.RequestDuration.WithLabelValues("/v1/cells/list.r1").Observe(0.3)
			out := lat(ctx, now)
			for k, v := range run(ctx, now) {
				if out == nil {
					out = map[string]float64{}
				}
				out[k] = v
			}
			return out
		})
		close(done)
	}()
	waitFor(t, "three latency points", func() bool { return len(rec.Series("bbs p99 s").Points) >= 3 })
	cancel()
	<-done
	for _, p := range rec.Series("bbs p99 s").Points {
		if p.V <= 0.25 || p.V > 0.5 {
			t.Errorf("p99 point %+v: want inside (.25, .5]", p)
		}
	}
	if s := rec.Series("running"); s.Last() != 1 || len(s.Points) < len(rec.Series("bbs p99 s").Points) {
		t.Errorf("running series %+v: want 1 at every tick", s)
	}
	if s := rec.Series("bbs p99 s rate/s"); len(s.Points) == 0 || s.Max() <= 0 {
		t.Errorf("rate series %+v: want positive rates", s)
	}
}
