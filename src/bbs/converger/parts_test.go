package converger_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/converger"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// TestPassInParts: a pass reading a few desired LRPs at a time decides
// every LRP and every orphan exactly once, whichever range its process guid
// falls in (before the first desired guid, between two ranges' bounds,
// after the last), and adds up the parts' counts.
func TestPassInParts(t *testing.T) {
	for _, b := range testdb.Backends[:2] { // SQLite and PostgreSQL
		t.Run(b.Driver, func(t *testing.T) {
			rec := &bbstest.Recorder{}
			h := bbstest.Start(t, bbstest.Options{Driver: b.Driver, DSN: b.NewDSN(t), Auctioneer: rec})
			ctx := context.Background()
			must(t, h.Client.UpsertDomain(logger, "", "d", 0))
			presence(t, h.Daemon.Store(), "cell-a")
			// Seven desired LRPs of 1 to 3 instances, b4's desired row
			// removed below: ranges of two are [..b2) [b2..b5) [b5..).
			instances := 0
			for i := range 7 {
				n := int32(i%3 + 1)
				instances += int(n)
				must(t, h.Client.DesireLRP(logger, "", lrp(fmt.Sprintf("b%d", i), n)))
			}
			rec.Indices()
			st := h.Daemon.ServiceStore()
			// Each range loses an instance, and orphans lie below, between
			// and above the desired guids (and on a range's bound's prefix).
			for _, k := range []models.ActualLRPKey{models.NewActualLRPKey("b0", 0, "d"), models.NewActualLRPKey("b2", 1, "d"),
				models.NewActualLRPKey("b5", 2, "d"), models.NewActualLRPKey("b6", 0, "d")} {
				must(t, h.Client.RemoveActualLRP(logger, "", &k, nil))
			}
			orphans := []string{"a", "b1x", "b4", "b", "c"}
			must(t, st.Update(ctx, func(tx store.Tx) error {
				for _, g := range orphans {
					if g == "b4" { // a desired guid whose desired row goes: its rows become orphans
						if err := tx.DeleteDesiredLRP(g); err != nil {
							return err
						}
						continue
					}
					if err := tx.InsertActualLRP(storetest.NewActualLRP(g, 0, models.ActualLRP_Ordinary, "d", "")); err != nil {
						return err
					}
				}
				return nil
			}))
			c, err := converger.New(converger.Config{RangeSize: 2}, st, h.Daemon.Service(), nil, nil)
			must(t, err)
			r, err := c.Pass(ctx)
			must(t, err)
			// b4 (2 instances) is no longer desired.
			if r.Parts != 3 || r.Counts.DesiredLRPs != 6 || r.Counts.DesiredInstances != instances-2 ||
				r.Counts.Missing != 4 || r.Counts.Orphaned != 6 {
				t.Fatalf("report %+v, counts %+v", r, r.Counts)
			}
			if want := map[string]int{"create-missing": 4, "retire-orphan": 6}; !maps.Equal(r.Why, want) {
				t.Fatalf("actions by decision %v, want %v", r.Why, want)
			}
			if got, want := rec.Indices(), []string{"b0/0", "b2/1", "b5/2", "b6/0"}; !slices.Equal(got, want) {
				t.Fatalf("auctioned %v, want %v", got, want)
			}
			for _, g := range append(orphans, "b4") {
				if left := byPresence(t, h, g); len(left) != 0 {
					t.Errorf("orphan %s still has rows %v", g, left)
				}
			}
			again, err := c.Pass(ctx)
			must(t, err)
			if again.LRPActions != 0 || again.Counts.Unclaimed != instances-2 {
				t.Fatalf("second pass %+v", again)
			}
		})
	}
}
