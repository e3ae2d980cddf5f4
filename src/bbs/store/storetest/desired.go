package storetest

import (
	"fmt"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
)

func testDesiredLRPs(t *testing.T, s store.Store) {
	d1, d2 := NewDesiredLRP("p1", "cf-apps"), NewDesiredLRP("p2", "cf-tasks")
	update(t, s, func(tx store.Tx) error {
		if err := tx.InsertDesiredLRP(d1); err != nil {
			return err
		}
		return tx.InsertDesiredLRP(d2)
	})

	got, err := s.DesiredLRP(ctx(t), "p1")
	if err != nil {
		t.Fatalf("DesiredLRP: %v", err)
	}
	wantEqual(t, "desired lrp p1", got, d1)
	info, err := s.SchedulingInfo(ctx(t), "p2")
	if err != nil {
		t.Fatalf("SchedulingInfo: %v", err)
	}
	wantInfo := d2.DesiredLRPSchedulingInfo()
	wantEqual(t, "scheduling info p2", info, &wantInfo)

	_, err = s.DesiredLRP(ctx(t), "missing")
	wantErr(t, "DesiredLRP(missing)", err, store.ErrNotFound)
	_, err = s.SchedulingInfo(ctx(t), "missing")
	wantErr(t, "SchedulingInfo(missing)", err, store.ErrNotFound)

	// A duplicate insert reports ErrExists and leaves the transaction usable.
	d3 := NewDesiredLRP("p3", "cf-apps")
	update(t, s, func(tx store.Tx) error {
		wantErr(t, "InsertDesiredLRP(duplicate)", tx.InsertDesiredLRP(NewDesiredLRP("p1", "other")), store.ErrExists)
		_, err := tx.DesiredLRP("missing")
		wantErr(t, "tx.DesiredLRP(missing)", err, store.ErrNotFound)
		return tx.InsertDesiredLRP(d3)
	})
	got, err = s.DesiredLRP(ctx(t), "p1")
	if err != nil {
		t.Fatalf("DesiredLRP: %v", err)
	}
	wantEqual(t, "desired lrp p1 after duplicate insert", got, d1)
	if _, err := s.DesiredLRP(ctx(t), "p3"); err != nil {
		t.Errorf("p3 inserted after ErrExists in the same transaction is missing: %v", err)
	}

	// Update replaces the whole row, plaintext columns included.
	d1.Instances, d1.Domain, d1.Annotation = 7, "cf-moved", "changed"
	d1.ModificationTag.Increment()
	update(t, s, func(tx store.Tx) error {
		cur, err := tx.DesiredLRP("p1")
		if err != nil {
			return err
		}
		wantEqual(t, "tx.DesiredLRP(p1)", cur, NewDesiredLRP("p1", "cf-apps"))
		if err := tx.UpdateDesiredLRP(d1); err != nil {
			return err
		}
		wantErr(t, "UpdateDesiredLRP(missing)", tx.UpdateDesiredLRP(NewDesiredLRP("missing", "x")), store.ErrNotFound)
		return nil
	})
	got, _ = s.DesiredLRP(ctx(t), "p1")
	wantEqual(t, "desired lrp p1 after update", got, d1)
	info, _ = s.SchedulingInfo(ctx(t), "p1")
	wantInfo = d1.DesiredLRPSchedulingInfo()
	wantEqual(t, "scheduling info p1 after update", info, &wantInfo)
	wantDesiredGuids(t, s, store.DesiredFilter{Domain: "cf-moved"}, "p1")

	deleteTwice(t, s, "DeleteDesiredLRP", func(tx store.Tx) error { return tx.DeleteDesiredLRP("p2") })
	_, err = s.DesiredLRP(ctx(t), "p2")
	wantErr(t, "DesiredLRP(deleted)", err, store.ErrNotFound)
	wantDesiredGuids(t, s, store.DesiredFilter{}, "p1", "p3")
}

func testDesiredLRPFilters(t *testing.T, s store.Store) {
	want := map[string]*models.DesiredLRP{}
	update(t, s, func(tx store.Tx) error {
		// Inserted out of order: results must come back sorted by guid.
		for _, g := range []string{"c", "a", "e", "b", "d"} {
			domain := "even"
			if g == "a" || g == "c" || g == "e" {
				domain = "odd"
			}
			want[g] = NewDesiredLRP(g, domain)
			if err := tx.InsertDesiredLRP(want[g]); err != nil {
				return err
			}
		}
		return nil
	})
	wantDesiredGuids(t, s, store.DesiredFilter{}, "a", "b", "c", "d", "e")
	wantDesiredGuids(t, s, store.DesiredFilter{Domain: "odd"}, "a", "c", "e")
	wantDesiredGuids(t, s, store.DesiredFilter{Domain: "none"})
	wantDesiredGuids(t, s, store.DesiredFilter{ProcessGuids: []string{"e", "b", "missing", "b"}}, "b", "e")
	wantDesiredGuids(t, s, store.DesiredFilter{Domain: "odd", ProcessGuids: []string{"a", "b"}}, "a")
	wantDesiredGuids(t, s, store.DesiredFilter{ProcessGuids: []string{}}, "a", "b", "c", "d", "e")
	// Ranges: From inclusive, To exclusive, byte by byte ("B" < "a").
	wantDesiredGuids(t, s, store.DesiredFilter{Range: store.GuidRange{From: "b", To: "d"}}, "b", "c")
	wantDesiredGuids(t, s, store.DesiredFilter{Range: store.GuidRange{From: "bb"}}, "c", "d", "e")
	wantDesiredGuids(t, s, store.DesiredFilter{Range: store.GuidRange{To: "B"}})
	wantDesiredGuids(t, s, store.DesiredFilter{Range: store.GuidRange{From: "B", To: "b"}}, "a")
	wantDesiredGuids(t, s, store.DesiredFilter{Range: store.GuidRange{From: "d", To: "b"}})
	wantDesiredGuids(t, s, store.DesiredFilter{Domain: "odd", Range: store.GuidRange{From: "b"}}, "c", "e")
	wantDesiredGuids(t, s, store.DesiredFilter{ProcessGuids: []string{"a", "c", "e"}, Range: store.GuidRange{To: "e"}}, "a", "c")
	guids, err := s.DesiredProcessGuids(ctx(t))
	if err != nil {
		t.Fatalf("DesiredProcessGuids: %v", err)
	}
	wantStrings(t, "DesiredProcessGuids", guids, []string{"a", "b", "c", "d", "e"})

	// A long guid list (longer than any single IN list) still filters and sorts.
	long := []string{"d", "a"}
	for i := range 1200 {
		long = append(long, fmt.Sprintf("absent-%04d", i))
	}
	wantDesiredGuids(t, s, store.DesiredFilter{ProcessGuids: long}, "a", "d")

	// Streamed bytes are the complete model / its scheduling info.
	for _, d := range stream[models.DesiredLRP](t, "EachDesiredLRP", s.EachDesiredLRP, store.DesiredFilter{}) {
		wantEqual(t, "streamed desired lrp "+d.ProcessGuid, d, want[d.ProcessGuid])
	}
	var infos []string
	for _, si := range stream[models.DesiredLRPSchedulingInfo](t, "EachSchedulingInfo", s.EachSchedulingInfo, store.DesiredFilter{Domain: "even"}) {
		w := want[si.ProcessGuid].DesiredLRPSchedulingInfo()
		wantEqual(t, "streamed scheduling info "+si.ProcessGuid, si, &w)
		infos = append(infos, si.ProcessGuid)
	}
	wantStrings(t, "EachSchedulingInfo(domain even)", infos, []string{"b", "d"})
	infos = nil
	for _, si := range stream[models.DesiredLRPSchedulingInfo](t, "EachSchedulingInfo", s.EachSchedulingInfo, store.DesiredFilter{ProcessGuids: []string{"c", "a"}}) {
		infos = append(infos, si.ProcessGuid)
	}
	wantStrings(t, "EachSchedulingInfo(guids c, a)", infos, []string{"a", "c"})
}

func wantDesiredGuids(t *testing.T, s store.Store, f store.DesiredFilter, want ...string) {
	t.Helper()
	var got []string
	for _, d := range stream[models.DesiredLRP](t, "EachDesiredLRP", s.EachDesiredLRP, f) {
		got = append(got, d.ProcessGuid)
	}
	wantStrings(t, fmt.Sprintf("EachDesiredLRP(domain %q, %d guids, range %+v)", f.Domain, len(f.ProcessGuids), f.Range), got, want)
}
