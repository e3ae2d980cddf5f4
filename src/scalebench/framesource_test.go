package scalebench

import (
	"errors"
	"net/http"
	"testing"

	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/pki"
)

// A FrameSource on a real BBS reads the instance events a desire makes,
// with their change times, and ends with ErrSourceClosed once closed.
func TestFrameSourceReadsARealBBS(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	tlsCfg, err := pki.ClientTLSConfig(h.Certs.CACert, h.Certs.ClientCert, h.Certs.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	src, err := OpenFrameSource(t.Context(), client, h.URL, InstanceEventsPath)
	if err != nil {
		t.Fatal(err)
	}
	desired := &models.DesiredLRP{
		ProcessGuid: "frames", Domain: "d", Instances: 1, RootFs: "preloaded:cflinuxfs4", MemoryMb: 64, DiskMb: 64,
		Action:     models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"}),
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: "frames"}},
	}
	if err := h.Client.DesireLRP(lager.NewLogger("t"), "", desired); err != nil {
		t.Fatal(err)
	}
	var te *TimedEvent
	for te == nil || te.Name != models.EventTypeActualLRPInstanceCreated { // desired_lrp_created comes first
		e, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		if te, ok = e.(*TimedEvent); !ok {
			t.Fatalf("event %#v is not a *TimedEvent", e)
		}
	}
	if !te.HasTime || te.At <= 0 {
		t.Fatalf("%#v: want the instance's since", te)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Next(); !errors.Is(err, events.ErrSourceClosed) {
		t.Fatalf("Next after Close: %v, want ErrSourceClosed", err)
	}
}

// A FrameSource filtered to a cell gets the events concerning every cell
// (the desire) and that cell's instance events, not the others: the
// unclaimed instance's creation does not reach it, its claim does.
func TestFrameSourceForCellFilters(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	tlsCfg, err := pki.ClientTLSConfig(h.Certs.CACert, h.Certs.ClientCert, h.Certs.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	src, err := OpenFrameSourceForCell(t.Context(), client, h.URL, InstanceEventsPath, "cell-x")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	desired := &models.DesiredLRP{
		ProcessGuid: "filtered", Domain: "d", Instances: 1, RootFs: "preloaded:cflinuxfs4", MemoryMb: 64, DiskMb: 64,
		Action:     models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"}),
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: "filtered"}},
	}
	log := lager.NewLogger("t")
	if err := h.Client.DesireLRP(log, "", desired); err != nil {
		t.Fatal(err)
	}
	key := models.NewActualLRPKey("filtered", 0, "d")
	ik := models.NewActualLRPInstanceKey("ig-0", "cell-x")
	if err := h.Client.ClaimActualLRP(log, "", &key, &ik); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, want := range []string{models.EventTypeDesiredLRPCreated, models.EventTypeActualLRPInstanceChanged} {
		e, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.(*TimedEvent).Name)
		if names[len(names)-1] != want {
			t.Fatalf("events %v: want %s next", names, want)
		}
	}
}
