package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/diego-go/diego/src/auction"
	"github.com/diego-go/diego/src/auctionapi"
	"github.com/diego-go/diego/src/auctioneer"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/api"
	"github.com/diego-go/diego/src/rep/cell"
)

const rootFS = "preloaded:cflinuxfs4"

type noStopper struct{}

func (noStopper) StopLRPInstance(context.Context, string, string) error { return nil }
func (noStopper) CancelTask(context.Context, string) error              { return nil }

type cells []*models.CellPresence

func (c cells) Cells(context.Context) ([]*models.CellPresence, error) { return c, nil }

// failures counts what the auctioneer reports to the BBS.
type failures struct{ lrps, tasks int }

func (f *failures) FailActualLRP(context.Context, *models.ActualLRPKey, string) error {
	f.lrps++
	return nil
}
func (f *failures) RejectTask(context.Context, string, string) error { f.tasks++; return nil }

// serveCells serves n cells' real API (a ledger each) over mutual TLS.
func serveCells(t testing.TB, n int, total rep.Resources) ([]*cell.Ledger, cells, *pki.Bundle) {
	t.Helper()
	mtls := testutil.MutualTLS(t)
	var ledgers []*cell.Ledger
	var presences cells
	for i := range n {
		id := fmt.Sprintf("cell-%d", i)
		l := cell.New(cell.Identity{CellID: id, CellIndex: i, Zone: "z1",
			RootFSProviders: rep.RootFSProviders{"preloaded": rep.NewFixedSetRootFSProvider("cflinuxfs4"), "docker": rep.ArbitraryRootFSProvider{}},
		}, total)
		h, err := api.NewHandler(api.Config{Ledger: l, Stopper: noStopper{}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(h)
		srv.TLS = mtls.Server.Clone()
		srv.StartTLS()
		t.Cleanup(srv.Close)
		ledgers = append(ledgers, l)
		presences = append(presences, &models.CellPresence{
			CellId: id, RepAddress: srv.URL, RepUrl: srv.URL, Zone: "z1",
			Capacity:        &models.CellCapacity{MemoryMb: total.MemoryMB, DiskMb: total.DiskMB, Containers: int32(total.Containers)},
			RootfsProviders: []*models.Provider{{Name: "preloaded", Properties: []string{"cflinuxfs4"}}, {Name: "docker"}},
		})
	}
	return ledgers, presences, mtls.Bundle
}

// newRunner is a runner over the cells with its own metrics; full hides the
// factory's state client from it, so it fetches every state in full as
// from reference reps.
func newRunner(t testing.TB, presences cells, b *pki.Bundle, full bool) (*auctioneer.Runner, *auctioneer.Metrics, *failures) {
	t.Helper()
	reps, err := auctioneer.NewRepClientFactory(auctioneer.RepClientConfig{
		TLS:          rep.TLSConfig{RequireTLS: true, CaCertFile: b.CACert, CertFile: b.ClientCert, KeyFile: b.ClientKey},
		StateTimeout: 5 * time.Second, WorkTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if full {
		reps = struct{ rep.ClientFactory }{reps}
	}
	m := auctioneer.NewMetrics(prometheus.NewRegistry())
	f := &failures{}
	r, err := auctioneer.NewRunner(auctioneer.RunnerConfig{Cells: presences, Reps: reps, BBS: f, Auction: auction.DefaultConfig(),
		BatchInterval: time.Millisecond, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	return r, m, f
}

func start(guid string, memoryMB int32) []auctionapi.LRPStartRequest {
	return []auctionapi.LRPStartRequest{{ProcessGuid: guid, Domain: "cf-apps", Indices: []int32{0},
		PlacementConstraint: rep.NewPlacementConstraint(rootFS, nil, nil), Resource: rep.NewResource(memoryMB, 1024, 1024)}}
}

// TestRoundsReuseUnchangedStates: against our reps, a round asks each cell
// for its state naming the ETag of the last one, and uses that state when
// the cell answers it has not changed; a cell that took work since is
// fetched whole, so the next placement sees what the last one used.
func TestRoundsReuseUnchangedStates(t *testing.T) {
	ledgers, presences, b := serveCells(t, 2, rep.NewResources(1024, 16384, 10))
	r, m, f := newRunner(t, presences, b, false)
	unchanged := func() int { return int(promtest.ToFloat64(m.CellStatesUnchanged)) }
	ctx := context.Background()

	r.AddLRPs(start("big-1", 768))
	if rr := r.Round(ctx); rr.Err != nil || rr.LRPsPlaced != 1 || rr.CellsFetched != 2 {
		t.Fatalf("first round = %+v", rr)
	}
	if n := unchanged(); n != 0 {
		t.Fatalf("first round reused %d states, want 0 (nothing fetched before)", n)
	}

	// One cell took big-1 after the first round's fetch: it answers in
	// full, the other 304. 768 MB fit only on the other cell now.
	r.AddLRPs(start("big-2", 768))
	if rr := r.Round(ctx); rr.Err != nil || rr.LRPsPlaced != 1 || rr.LRPsFailed != 0 {
		t.Fatalf("second round = %+v", rr)
	}
	if n := unchanged(); n != 1 {
		t.Errorf("second round reused %d states, want 1 (the cell that took no work)", n)
	}
	for i, l := range ledgers {
		if st := l.State(time.Now()); len(st.LRPs) != 1 {
			t.Errorf("cell %d holds %d instances, want 1: %+v", i, len(st.LRPs), st.LRPs)
		}
	}

	// The cell that took big-2 changed after the second round's fetch; then
	// nothing changes: of two warm-ups, the first reuses one state, the
	// second both.
	for i, want := range []int{2, 4} {
		if rr := r.Warm(ctx); rr.CellsFetched != 2 {
			t.Fatalf("warm-up = %+v", rr)
		}
		if n := unchanged(); n != want {
			t.Errorf("after warm-up %d, %d states reused in all, want %d", i+1, n, want)
		}
	}
	// Neither has room for 768 MB: the reused states say so too.
	r.AddLRPs(start("big-3", 768))
	if rr := r.Round(ctx); rr.LRPsPlaced != 0 || rr.LRPsFailed != 1 || f.lrps != 1 {
		t.Errorf("third round = %+v (%d failures reported), want big-3 failed for want of room", rr, f.lrps)
	}
}

// BenchmarkFetchStates fetches 100 cells' states of 200 instances each,
// unchanged since the last fetch: from our reps with ETags (each answers
// 304), and in full as from reference reps (the runner given a factory
// that lends no state client).
func BenchmarkFetchStates(b *testing.B) {
	ledgers, presences, bundle := serveCells(b, 100, rep.NewResources(256*1024, 256*1024, 250))
	for _, l := range ledgers {
		var w rep.Work
		for i := range 200 {
			w.LRPs = append(w.LRPs, rep.NewLRP(fmt.Sprintf("ig-%d", i), models.NewActualLRPKey(fmt.Sprintf("pg-%d", i), 0, "cf-apps"),
				rep.NewResource(256, 1024, 10), rep.NewPlacementConstraint(rootFS, nil, nil)))
		}
		if _, rejected := l.Reserve(w, time.Now()); len(rejected.LRPs) != 0 {
			b.Fatalf("%d instances rejected", len(rejected.LRPs))
		}
	}
	for _, full := range []bool{false, true} {
		name := "etag"
		if full {
			name = "full"
		}
		b.Run(name, func(b *testing.B) {
			r, _, _ := newRunner(b, presences, bundle, full)
			r.Warm(context.Background())
			for b.Loop() {
				if rr := r.Warm(context.Background()); rr.CellsFetched != 100 {
					b.Fatalf("warm-up = %+v", rr)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/100, "µs/cell")
		})
	}
}
