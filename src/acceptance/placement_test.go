package acceptance

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

// fits reports whether an LRP with tags may be placed on cell: the cell's
// required tags are among the LRP's, and the LRP's among the cell's
// required and optional tags.
func fits(cell *models.CellPresence, tags []string) bool {
	all := append(slices.Clone(cell.PlacementTags), cell.OptionalPlacementTags...)
	for _, r := range cell.PlacementTags {
		if !slices.Contains(tags, r) {
			return false
		}
	}
	for _, tag := range tags {
		if !slices.Contains(all, tag) {
			return false
		}
	}
	return true
}

func testPlacement(t *testing.T, e *env) {
	cells := e.cellsByID(t)
	tags := e.cfg.PlacementTags
	if len(tags) == 0 {
		ids := make([]string, 0, len(cells))
		for id := range cells {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if c := cells[id]; len(c.PlacementTags)+len(c.OptionalPlacementTags) > 0 {
				tags = append(slices.Clone(c.PlacementTags), c.OptionalPlacementTags...)
				break
			}
		}
	}
	if len(tags) == 0 {
		t.Fatalf("no placement tags to test with: no cell has any and the config names none (placement_tags); the placement group needs a cell with placement tags")
	}
	var tagged, untagged []string
	for id, c := range cells {
		if fits(c, tags) {
			tagged = append(tagged, id)
		} else {
			untagged = append(untagged, id)
		}
	}
	if len(tagged) == 0 {
		t.Fatalf("no cell accepts placement tags %v; cells: %v", tags, cells)
	}
	t.Logf("tags %v: cells that fit %v, cells that do not %v", tags, tagged, untagged)

	t.Run("tagged LRP lands only on tagged cells", func(t *testing.T) {
		t.Parallel()
		d := e.domain(t)
		g := guid(t, "app")
		lrp := e.appLRP(g, d, 4)
		lrp.PlacementTags = tags
		e.desire(t, lrp)
		lrps := e.waitRunning(t, g, 4, 90*time.Second)
		for _, l := range lrps {
			if !slices.Contains(tagged, l.CellId) {
				t.Errorf("instance %d with tags %v placed on %s, which does not carry them", l.Index, tags, l.CellId)
			}
		}
		expectHello(t, lrps)
	})

	t.Run("unsatisfiable tags give a placement error", func(t *testing.T) {
		t.Parallel()
		d := e.domain(t)
		g := guid(t, "app")
		lrp := e.appLRP(g, d, 1)
		lrp.PlacementTags = []string{"acceptance-no-cell-has-" + randomHex(4)}
		e.desire(t, lrp)
		testutil.Eventually(t, 30*time.Second, "placement_error on the unplaceable instance", func() (bool, string) {
			lrps := e.actuals(t, g)
			ok := len(lrps) == 1 && lrps[0].State == models.ActualLRPStateUnclaimed &&
				strings.Contains(lrps[0].PlacementError, "placement tag")
			return ok, describe(lrps)
		})
	})
}

// testZones desires two instances per zone and expects them spread evenly
// over the zones of the cells an untagged LRP may use.
func testZones(t *testing.T, e *env) {
	zones := map[string]bool{}
	for _, c := range e.cellsByID(t) {
		if fits(c, nil) {
			zones[c.Zone] = true
		}
	}
	if len(zones) < 2 {
		t.Fatalf("zones of untagged cells: %v; spreading needs at least two", zones)
	}
	d := e.domain(t)
	g := guid(t, "app")
	n := 2 * len(zones)
	e.desire(t, e.appLRP(g, d, int32(n)))
	lrps := e.waitRunning(t, g, n, 90*time.Second)
	cells := e.cellsByID(t)
	perZone := map[string]int{}
	for _, l := range lrps {
		c, ok := cells[l.CellId]
		if !ok {
			t.Fatalf("instance %d is on %s, which the BBS does not list", l.Index, l.CellId)
		}
		perZone[c.Zone]++
	}
	for z := range zones {
		if perZone[z] != 2 {
			t.Errorf("%d instances over zones %v: %v, want 2 in each", n, keys(zones), perZone)
			break
		}
	}
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
