// Package reptest sets up what the rep's end-to-end tests run against: a BBS
// with an embedded Locket, the reference rep client, and LRP instances placed
// on a cell as the auctioneer would place them.
package reptest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
)

// WaitFor is how long the helpers here wait for the BBS to catch up.
const WaitFor = 30 * time.Second

// StartBBS starts a BBS with an embedded Locket on a fresh SQLite database.
func StartBBS(tb testing.TB) *bbstest.Harness {
	tb.Helper()
	return bbstest.Start(tb, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(tb), EmbeddedLocket: true})
}

// Client is the reference rep client for the rep serving at repURL over
// mutual TLS with certs, as the auctioneer has it.
func Client(tb testing.TB, certs *pki.Bundle, repURL string, timeout time.Duration) rep.Client {
	tb.Helper()
	factory, err := rep.NewClientFactory(&http.Client{Transport: &http.Transport{}, Timeout: timeout},
		&http.Client{Transport: &http.Transport{}, Timeout: timeout},
		&rep.TLSConfig{RequireTLS: true, CertFile: certs.ClientCert, KeyFile: certs.ClientKey, CaCertFile: certs.CACert})
	if err != nil {
		tb.Fatal(err)
	}
	rc, err := factory.CreateClient("", repURL, "")
	if err != nil {
		tb.Fatal(err)
	}
	return rc
}

// Cell returns the presence of cellID if the BBS lists it; otherwise what
// it lists instead.
func Cell(h *bbstest.Harness, lg lager.Logger, cellID string) (*models.CellPresence, string) {
	cells, err := h.Client.Cells(lg, "")
	if err != nil {
		return nil, err.Error()
	}
	for _, c := range cells {
		if c.CellId == cellID {
			return c, ""
		}
	}
	return nil, fmt.Sprintf("cell not listed among %d others", len(cells))
}

// Sleeper is a one-instance LRP in domain that sleeps.
func Sleeper(pg, domain string) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: pg, Domain: domain, RootFs: "preloaded:cflinuxfs4", Instances: 1,
		MemoryMb: 32, DiskMb: 32, LogGuid: "log",
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: pg}},
		Action:     models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "exec sleep 600"}, User: "vcap"}),
	}
}

// Desire desires the one-instance LRP d and returns the key of its
// unclaimed actual LRP once the BBS lists it.
func Desire(tb testing.TB, h *bbstest.Harness, lg lager.Logger, d *models.DesiredLRP) models.ActualLRPKey {
	tb.Helper()
	if err := h.Client.DesireLRP(lg, "", d); err != nil {
		tb.Fatalf("desiring LRP: %v", err)
	}
	var key models.ActualLRPKey
	testutil.Eventually(tb, WaitFor, "the unclaimed actual LRP", func() (bool, string) {
		lrps, err := h.Client.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: d.ProcessGuid})
		if err != nil || len(lrps) != 1 {
			return false, fmt.Sprint(lrps, err)
		}
		key = lrps[0].ActualLRPKey
		return true, ""
	})
	return key
}

// LRP is the auction's work for instance ig of the actual LRP key of d.
func LRP(ig string, key models.ActualLRPKey, d *models.DesiredLRP) rep.LRP {
	return rep.NewLRP(ig, key, rep.NewResource(d.MemoryMb, d.DiskMb, 0), rep.NewPlacementConstraint(d.RootFs, nil, nil))
}

// Perform sends rc the work of running instance ig of key and fails tb
// unless the rep accepts all of it.
func Perform(tb testing.TB, rc rep.Client, lg lager.Logger, ig string, key models.ActualLRPKey, d *models.DesiredLRP) {
	tb.Helper()
	rejected, err := rc.Perform(lg, rep.Work{LRPs: []rep.LRP{LRP(ig, key, d)}})
	if err != nil || len(rejected.LRPs) != 0 {
		tb.Fatalf("perform: rejected %+v, %v", rejected, err)
	}
}

// Place desires the one-instance LRP d and places its instance ig on the
// cell rc talks to, as the auctioneer would.
func Place(tb testing.TB, h *bbstest.Harness, lg lager.Logger, rc rep.Client, d *models.DesiredLRP, ig string) models.ActualLRPKey {
	tb.Helper()
	key := Desire(tb, h, lg, d)
	Perform(tb, rc, lg, ig, key, d)
	return key
}
