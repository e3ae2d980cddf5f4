package storetest

import (
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
)

// testServedDesiredLRPs: with DesiredFilter.Served, EachDesiredLRP yields the
// reference's served LRPs (metrics_guid and the source_id tag filled from
// each other); without it, the LRPs as stored, and the fill follows updates.
func testServedDesiredLRPs(t *testing.T, s store.Store) {
	source := NewDesiredLRP("src", "served")
	source.MetricsGuid = ""
	guid := NewDesiredLRP("guid", "served")
	guid.MetricTags = nil
	both := NewDesiredLRP("both", "served")
	stored := map[string]*models.DesiredLRP{"src": source, "guid": guid, "both": both}
	update(t, s, func(tx store.Tx) error {
		for _, d := range stored {
			if err := tx.InsertDesiredLRP(d); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(what string) {
		t.Helper()
		for _, f := range []store.DesiredFilter{{Domain: "served"}, {ProcessGuids: []string{"src", "guid", "both"}}} {
			asStored := stream[models.DesiredLRP](t, "EachDesiredLRP", s.EachDesiredLRP, f)
			f.Served = true
			served := stream[models.DesiredLRP](t, "EachDesiredLRP", s.EachDesiredLRP, f)
			if len(asStored) != 3 || len(served) != 3 {
				t.Fatalf("%s: %d stored and %d served desired LRPs, want 3", what, len(asStored), len(served))
			}
			for i := range served {
				want := stored[served[i].ProcessGuid]
				wantEqual(t, what+": stored "+want.ProcessGuid, asStored[i], want)
				wantEqual(t, what+": served "+want.ProcessGuid, served[i], want.Copy().PopulateMetricsGuid())
			}
		}
	}
	check("desired")
	if v := stored["src"].Copy().PopulateMetricsGuid(); v.MetricsGuid != "src" {
		t.Fatalf("fixture: served metrics_guid %q", v.MetricsGuid)
	}
	// the source_id of the LRP without metrics_guid changes
	renamed := source.Copy()
	renamed.MetricTags = map[string]*models.MetricTagValue{"source_id": {Static: "renamed"}}
	stored["src"] = renamed
	update(t, s, func(tx store.Tx) error { return tx.UpdateDesiredLRP(renamed) })
	check("updated")
}
