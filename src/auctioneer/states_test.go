package auctioneer

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/diego-go/diego/src/auctionapi"
	"github.com/diego-go/diego/src/auctioneer/fakerep"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/api"
	"github.com/diego-go/diego/src/rep/cell"
)

type noStopper struct{}

func (noStopper) StopLRPInstance(context.Context, string, string) error { return nil }
func (noStopper) CancelTask(context.Context, string) error              { return nil }

// startRepCells serves n of our reps' real API (src/rep/api over a cell
// ledger) over mutual TLS, each with total resources.
func startRepCells(t testing.TB, n int, total rep.Resources) ([]*cell.Ledger, *staticCells) {
	t.Helper()
	b := testCerts(t)
	tlsCfg, err := pki.ServerTLSConfig(b.CACert, b.ServerCert, b.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	var ledgers []*cell.Ledger
	presences := &staticCells{}
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
		srv.TLS = tlsCfg.Clone()
		srv.StartTLS()
		t.Cleanup(srv.Close)
		ledgers = append(ledgers, l)
		presences.cells = append(presences.cells, &models.CellPresence{
			CellId: id, RepAddress: srv.URL, RepUrl: srv.URL, Zone: "z1",
			Capacity:        &models.CellCapacity{MemoryMb: total.MemoryMB, DiskMb: total.DiskMB, Containers: int32(total.Containers)},
			RootfsProviders: []*models.Provider{{Name: "preloaded", Properties: []string{"cflinuxfs4"}}, {Name: "docker"}},
		})
	}
	return ledgers, presences
}

// TestRoundsReuseUnchangedStates: against our reps, a round asks each cell
// for its state naming the ETag of the last one, and uses that state when
// the cell answers it has not changed; a cell that took work since is
// fetched whole, so the next placement sees what the last one used.
func TestRoundsReuseUnchangedStates(t *testing.T) {
	ledgers, presences := startRepCells(t, 2, rep.NewResources(1024, 16384, 10))
	bbs := newRecordingBBS()
	r := newTestRunner(t, presences, bbs, nil)
	unchanged := func() int { return int(promtest.ToFloat64(r.metrics.CellStatesUnchanged)) }

	r.AddLRPs([]auctionapi.LRPStartRequest{lrpStart("big-1", 768, 0)})
	if rr := r.Round(context.Background()); rr.Err != nil || rr.LRPsPlaced != 1 || rr.CellsFetched != 2 {
		t.Fatalf("first round = %+v", rr)
	}
	if n := unchanged(); n != 0 {
		t.Fatalf("first round reused %d states, want 0 (nothing fetched before)", n)
	}

	// One cell took big-1 after the first round's fetch: it answers in
	// full, the other 304. 768 MB fit only on the other cell now.
	r.AddLRPs([]auctionapi.LRPStartRequest{lrpStart("big-2", 768, 0)})
	if rr := r.Round(context.Background()); rr.Err != nil || rr.LRPsPlaced != 1 || rr.LRPsFailed != 0 {
		t.Fatalf("second round = %+v (failures %v)", rr, bbs.failedLRPs)
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
		if rr := r.Warm(context.Background()); rr.CellsFetched != 2 {
			t.Fatalf("warm-up = %+v", rr)
		}
		if n := unchanged(); n != want {
			t.Errorf("after warm-up %d, %d states reused in all, want %d", i+1, n, want)
		}
	}
	// Neither has room for 768 MB: the cached states say so too.
	r.AddLRPs([]auctionapi.LRPStartRequest{lrpStart("big-3", 768, 0)})
	if rr := r.Round(context.Background()); rr.LRPsPlaced != 0 || rr.LRPsFailed != 1 {
		t.Errorf("third round = %+v, want big-3 failed for want of room", rr)
	}
}

// TestRoundsFetchReferenceRepsInFull: a rep that sends no ETag (the
// reference's, here the fake) is asked in full every round.
func TestRoundsFetchReferenceRepsInFull(t *testing.T) {
	cells := startCells(t, 2, []string{"z1"}, rep.NewResources(4096, 16384, 10), true)
	r := newTestRunner(t, presencesOf(cells), newRecordingBBS(), nil)
	for range 3 {
		if rr := r.Warm(context.Background()); rr.CellsFetched != 2 {
			t.Fatalf("warm-up = %+v", rr)
		}
	}
	if n := promtest.ToFloat64(r.metrics.CellStatesUnchanged); n != 0 {
		t.Errorf("%v states reused from reps that send no ETag", n)
	}
	for _, c := range cells {
		if states, _, _ := c.Requests(); states != 3 {
			t.Errorf("cell %s answered %d state requests, want 3", c.ID(), states)
		}
	}
}

// BenchmarkFetchStates fetches 100 cells' states of 200 instances each,
// unchanged since the last fetch: from our reps with ETags (each answers
// 304), and in full as from reference reps (the runner given a factory
// that lends no state client).
func BenchmarkFetchStates(b *testing.B) {
	ledgers, presences := startRepCells(b, 100, rep.NewResources(256*1024, 256*1024, 250))
	for _, l := range ledgers {
		var w rep.Work
		for i := range 200 {
			w.LRPs = append(w.LRPs, rep.NewLRP(fmt.Sprintf("ig-%d", i), models.NewActualLRPKey(fmt.Sprintf("pg-%d", i), 0, "cf-apps"),
				rep.NewResource(256, 1024, 10), rep.NewPlacementConstraint(fakerep.DefaultRootFS, nil, nil)))
		}
		if _, rejected := l.Reserve(w, time.Now()); len(rejected.LRPs) != 0 {
			b.Fatalf("%d instances rejected", len(rejected.LRPs))
		}
	}
	for _, bc := range []struct {
		name string
		reps func(rep.ClientFactory) rep.ClientFactory
	}{
		{"etag", func(f rep.ClientFactory) rep.ClientFactory { return f }},
		{"full", func(f rep.ClientFactory) rep.ClientFactory { return struct{ rep.ClientFactory }{f} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := newTestRunner(b, presences, newRecordingBBS(), func(c *RunnerConfig) { c.Reps = bc.reps(c.Reps) })
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
