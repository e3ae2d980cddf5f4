package scalebench

import (
	"context"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/bbs/metrics"
)

// TestHistogramDeltaFromTheBBSRegistry scrapes the BBS's own metrics
// handler twice and checks the interval's counts and interpolated
// quantiles against figures worked out by hand from its buckets
// (.0005, .001, .0025, .005, ... 10).
func TestHistogramDeltaFromTheBBSRegistry(t *testing.T) {
	m := metrics.New()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	sc := Scraper{URL: srv.URL}
	ctx := context.Background()

	const a, b, c = "/v1/actual_lrps/list", "/v1/desired_lrps/list.r3", "/v1/cells/list.r1"
	for range 10 {
		m.RequestDuration.WithLabelValues(a).Observe(2.0)
	}
	m.RequestDuration.WithLabelValues(b).Observe(0.01)
	m.ConvergenceRuns.Add(3)
	before, err := sc.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		m.RequestDuration.WithLabelValues(a).Observe(0.0007)
	}
	for range 49 {
		m.RequestDuration.WithLabelValues(a).Observe(0.003)
	}
	m.RequestDuration.WithLabelValues(a).Observe(0.3)
	m.RequestDuration.WithLabelValues(c).Observe(20) // beyond the last bound
	m.ConvergenceRuns.Add(2)
	m.LRPs.WithLabelValues("running").Set(250000)
	after, err := sc.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}

	got := HistogramDelta(before, after, "bbs_request_duration_seconds")
	if len(got) != 2 || got[0].Label != a || got[1].Label != c {
		t.Fatalf("delta series = %+v, want %s and %s only", got, a, c)
	}
	la := got[0]
	// p50: rank 50 of 100 ends the (.0005, .001] bucket, which holds 50: .001.
	// p99: rank 99; (.0025, .005] holds ranks 51..99: .0025 + .0025*49/49.
	want := Latency{Label: a, Count: 100, P50: 0.001, P99: 0.005, Max: 0.5, Mean: (50*0.0007 + 49*0.003 + 0.3) / 100}
	if la.Count != want.Count || !near(la.P50, want.P50) || !near(la.P99, want.P99) || la.Max != want.Max || !near(la.Mean, want.Mean) {
		t.Errorf("route %s: got %+v, want %+v", a, la, want)
	}
	if lc := got[1]; lc.Count != 1 || lc.P99 != 10 || lc.Max != 10 {
		t.Errorf("route %s (one 20 s observation): got %+v, want p99 and max at the last bound, 10", c, lc)
	}
	// All routes, 101 requests. p50: rank 50.5 is the first half of the 51st
	// of 49 in (.0025, .005]: .0025 + .0025*0.5/49. p99: rank 99.99 falls
	// in (.25, .5], holding the 100th only: .25 + .25*0.99.
	all := HistogramDeltaAll(before, after, "bbs_request_duration_seconds", "all")
	if all.Count != 101 || all.Label != "all" || all.Max != 10 || !near(all.P50, 0.0025+0.0025*0.5/49) || !near(all.P99, 0.25+0.25*0.99) {
		t.Errorf("all routes: %+v, want 101 requests, p50 %v, p99 %v and the max bound 10", all, 0.0025+0.0025*0.5/49, 0.25+0.25*0.99)
	}
	if d := CounterDelta(before, after, "bbs_convergence_runs_total")[""]; d != 2 {
		t.Errorf("convergence runs delta = %v, want 2", d)
	}
	if v := after.Values("bbs_lrps")["running"]; v != 250000 {
		t.Errorf("bbs_lrps{kind=running} = %v, want 250000", v)
	}
	// A restart (fewer observations than before) counts from zero.
	if d := HistogramDelta(after, before, "bbs_request_duration_seconds"); len(d) != 1 || d[0].Count != 10 {
		t.Errorf("delta across a reset = %+v, want the later scrape's own counts (10 for %s)", d, a)
	}
}

func TestQuantileInterpolation(t *testing.T) {
	h := Histogram{Bounds: []float64{1, 2, 4}, Counts: []uint64{10, 30, 40}, Count: 40}
	for _, c := range []struct{ q, want float64 }{
		{0.25, 1},   // rank 10: the end of the first bucket
		{0.5, 1.5},  // rank 20: halfway through (1, 2]
		{0.875, 3},  // rank 35: halfway through (2, 4]
		{0.125, .5}, // rank 5: halfway through (0, 1]
	} {
		if got := h.Quantile(c.q); !near(got, c.want) {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := (Histogram{}).Quantile(0.5); !math.IsNaN(got) {
		t.Errorf("empty histogram quantile = %v, want NaN", got)
	}
	if s := Summarize("x", Histogram{}); s.P50 != 0 || s.P99 != 0 {
		t.Errorf("empty summary = %+v, want zeros", s)
	}
}

func TestParseMetricsRejectsGarbage(t *testing.T) {
	if _, err := ParseMetrics(strings.NewReader("bbs_lrps{kind=\"x\" 3\n"), time.Time{}); err == nil {
		t.Fatal("a malformed exposition parsed")
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
