package scalebench

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/diego-go/diego/src/auctioneer"
	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// TestAuctioneerRoundDelta reads the auctioneer's unlabelled round
// histogram (label key "") from its own metrics.
func TestAuctioneerRoundDelta(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := auctioneer.NewMetrics(reg)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	sc := Scraper{URL: srv.URL}
	ctx := context.Background()
	m.RoundDuration.Observe(3) // before the interval
	before, err := sc.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		m.RoundDuration.Observe(0.2) // (.1, .25]
	}
	m.LRPsPlaced.Add(1200)
	after, err := sc.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := HistogramDelta(before, after, "auctioneer_auction_duration_seconds")
	// p50: rank 2 of 4 in (.1, .25] holding all four: .1 + .15*2/4.
	if len(got) != 1 || got[0].Label != "" || got[0].Count != 4 || !near(got[0].P50, 0.175) || got[0].Max != 0.25 {
		t.Fatalf("round delta = %+v, want 4 rounds with p50 0.175 and max bound 0.25", got)
	}
	if d := CounterDelta(before, after, "auctioneer_lrp_instances_placed_total")[""]; d != 1200 {
		t.Errorf("placed delta = %v, want 1200", d)
	}
}

// TestScrapeLocketInsideTheBBS scrapes a real BBS running Locket
// in-process: Locket's metrics are served with the BBS's on its
// health_address.
func TestScrapeLocketInsideTheBBS(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t), EmbeddedLocket: true})
	sc := Scraper{URL: "http://" + h.Daemon.HealthAddr() + "/metrics"}
	var last Scrape
	waitFor(t, "Locket's request histogram and the bbs lock", func() bool {
		s, err := sc.Scrape(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		last = s
		return len(s.Histograms("locket_request_duration_seconds")) > 0 && s.Value("locket_active_locks") >= 1
	})
	if v := last.Value("bbs_is_leader"); v != 1 {
		t.Errorf("bbs_is_leader = %v, want 1", v)
	}
	for method, h := range last.Histograms("locket_request_duration_seconds") {
		if h.Count == 0 || len(h.Bounds) != 13 {
			t.Errorf("locket method %q: %+v, want observations in 13 finite buckets", method, h)
		}
	}
}
