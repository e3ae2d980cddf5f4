package auctionsim

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/auction"
	"github.com/diego-go/diego/src/auctioneer"
	"github.com/diego-go/diego/src/bbs/auctioneerclient"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/internal/testutil"
)

// TestClientAgainstOurAuctioneer: what the BBS's auctioneer client sends
// over mutual TLS, our auctioneer's handler accepts and queues.
func TestClientAgainstOurAuctioneer(t *testing.T) {
	reps, err := auctioneer.NewRepClientFactory(auctioneer.RepClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := auctioneer.NewRunner(auctioneer.RunnerConfig{Cells: noCells{}, Reps: reps, BBS: &recordingBBS{reasons: map[string]int{}}, Auction: auction.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	mtls := testutil.MutualTLS(t)
	srv := httptest.NewUnstartedServer(auctioneer.NewHandler(r, 0, nil))
	srv.TLS = mtls.Server
	srv.StartTLS()
	defer srv.Close()
	c, err := auctioneerclient.New(auctioneerclient.Config{Address: strings.TrimPrefix(srv.URL, "https://"), TLS: mtls.Client,
		Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}

	info := &models.DesiredLRPSchedulingInfo{
		DesiredLRPKey:      models.NewDesiredLRPKey("a", "cf-apps", "log"),
		DesiredLRPResource: models.NewDesiredLRPResource(512, 1024, 200, "preloaded:cflinuxfs4"),
		PlacementTags:      []string{"blue"},
		VolumePlacement:    &models.VolumePlacement{DriverNames: []string{"nfs"}},
	}
	if err := c.RequestLRPAuctions(context.Background(), []service.LRPStartRequest{{SchedulingInfo: info, Indices: []int32{0, 1, 2}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.RequestTaskAuctions(context.Background(), []*models.Task{{TaskGuid: "t", Domain: "d", TaskDefinition: &models.TaskDefinition{RootFs: "docker:///x", MemoryMb: 1}}}); err != nil {
		t.Fatal(err)
	}
	if l, tk := r.Queued(); l != 3 || tk != 1 {
		t.Errorf("queued %d instances, %d tasks; want 3 and 1", l, tk)
	}
}

type noCells struct{}

func (noCells) Cells(context.Context) ([]*models.CellPresence, error) { return nil, nil }
