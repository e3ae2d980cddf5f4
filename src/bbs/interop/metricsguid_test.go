package interop_test

import (
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/bbstest"
)

// testMetricsGuid: as the reference, desired LRPs are stored as desired or
// updated, and served with metrics_guid and the source_id tag filled from
// each other by the desired LRP reads (list and get, r3 and r2) only: events
// and routing infos carry them as stored.
func testMetricsGuid(t *testing.T, h *bbstest.Harness) {
	c, hc := h.Client, mtlsClient(t, h.Certs, false)
	es, err := c.SubscribeToInstanceEvents(logger) // with every desired LRP event
	must(t, err)
	defer es.Close()
	time.Sleep(100 * time.Millisecond)

	// mg-src: a source_id tag, no metrics_guid. mg-guid: both, until an
	// update drops its source_id tag (validation wants them equal on desire).
	must(t, c.DesireLRP(logger, "", desiredLRP("mg-src", "mg", 0, "x")))
	guid := desiredLRP("mg-guid", "mg", 0, "x")
	guid.MetricsGuid, guid.MetricTags = "the-guid", map[string]*models.MetricTagValue{"source_id": {Static: "the-guid"}}
	must(t, c.DesireLRP(logger, "", guid))
	appOnly := map[string]*models.MetricTagValue{"app": {Static: "a"}}
	must(t, c.UpdateDesiredLRP(logger, "", "mg-guid", &models.DesiredLRPUpdate{MetricTags: appOnly}))

	served := func(want string) {
		t.Helper()
		list, err := c.DesiredLRPs(logger, "", models.DesiredLRPFilter{Domain: "mg"})
		must(t, err)
		one, err := c.DesiredLRPByProcessGuid(logger, "", "mg-src")
		must(t, err)
		var r2 models.DesiredLRPResponse
		protoCall(t, hc, h.URL+"/v1/desired_lrps/get_by_process_guid.r2", &models.DesiredLRPByProcessGuidRequest{ProcessGuid: "mg-src"}, &r2)
		var r2List models.DesiredLRPsResponse
		protoCall(t, hc, h.URL+"/v1/desired_lrps/list.r2", &models.DesiredLRPsRequest{Domain: "mg"}, &r2List)
		if len(list) != 2 || len(r2List.DesiredLrps) != 2 {
			t.Fatalf("listed %d and %d (r2) desired LRPs", len(list), len(r2List.DesiredLrps))
		}
		for what, d := range map[string]*models.DesiredLRP{"list": list[1], "get": one, "r2 get": r2.DesiredLrp, "r2 list": r2List.DesiredLrps[1]} {
			if d.ProcessGuid != "mg-src" || d.MetricsGuid != want || d.MetricTags["source_id"].GetStatic() != want {
				t.Fatalf("%s: %s metrics_guid %q, tags %v; want %q", what, d.ProcessGuid, d.MetricsGuid, d.MetricTags, want)
			}
		}
		for what, d := range map[string]*models.DesiredLRP{"list": list[0], "r2 list": r2List.DesiredLrps[0]} {
			if d.MetricsGuid != "the-guid" || len(d.MetricTags) != 2 || d.MetricTags["source_id"].GetStatic() != "the-guid" || d.MetricTags["app"].GetStatic() != "a" {
				t.Fatalf("%s: %s metrics_guid %q, tags %v", what, d.ProcessGuid, d.MetricsGuid, d.MetricTags)
			}
		}
	}
	served("mg-src")
	routing, err := c.DesiredLRPRoutingInfos(logger, "", models.DesiredLRPFilter{ProcessGuids: []string{"mg-guid"}})
	must(t, err)
	if len(routing) != 1 || len(routing[0].MetricTags) != 1 || routing[0].MetricTags["source_id"] != nil {
		t.Fatalf("routing info tags %v, want them as updated", routing[0].GetMetricTags())
	}

	// the source_id of an LRP desired without metrics_guid changes: so does what is served
	renamed := map[string]*models.MetricTagValue{"source_id": {Static: "renamed"}}
	must(t, c.UpdateDesiredLRP(logger, "", "mg-src", &models.DesiredLRPUpdate{MetricTags: renamed}))
	served("renamed")

	evs := collect(t, es, 4, 5*time.Second)
	if len(evs) != 4 {
		t.Fatalf("%d desired LRP events", len(evs))
	}
	created, ok1 := evs[0].(*models.DesiredLRPCreatedEvent)
	dropped, ok2 := evs[2].(*models.DesiredLRPChangedEvent)
	changed, ok3 := evs[3].(*models.DesiredLRPChangedEvent)
	if !ok1 || !ok2 || !ok3 || created.DesiredLrp.MetricsGuid != "" || changed.Before.MetricsGuid != "" || changed.After.MetricsGuid != "" ||
		changed.After.MetricTags["source_id"].GetStatic() != "renamed" || len(dropped.After.MetricTags) != 1 || dropped.After.MetricTags["source_id"] != nil {
		t.Fatalf("events carry the LRPs as stored: %v", types(evs))
	}
	must(t, c.RemoveDesiredLRP(logger, "", "mg-src"))
	must(t, c.RemoveDesiredLRP(logger, "", "mg-guid"))
}
