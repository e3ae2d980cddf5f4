package storetest

import (
	"fmt"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
)

var (
	ordinary   = models.ActualLRP_Ordinary
	evacuating = models.ActualLRP_Evacuating
	suspect    = models.ActualLRP_Suspect
)

func i32(v int32) *int32 { return &v }

func actualKey(a *models.ActualLRP) string {
	return fmt.Sprintf("%s/%d/%s", a.ProcessGuid, a.Index, a.Presence)
}

func actualKeys(as []*models.ActualLRP) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = actualKey(a)
	}
	return out
}

// seedActuals inserts a fixed set of actual LRPs, out of key order.
func seedActuals(t *testing.T, s store.Store) map[string]*models.ActualLRP {
	t.Helper()
	lrps := []*models.ActualLRP{
		NewActualLRP("p2", 0, ordinary, "cf-b", "cell-1"),
		NewActualLRP("p1", 1, ordinary, "cf-a", "cell-2"),
		NewActualLRP("p1", 0, evacuating, "cf-a", "cell-2"),
		NewActualLRP("p1", 0, ordinary, "cf-a", "cell-1"),
		NewActualLRP("p1", 2, ordinary, "cf-a", ""),
		NewActualLRP("p1", 1, suspect, "cf-a", "cell-3"),
	}
	byKey := map[string]*models.ActualLRP{}
	update(t, s, func(tx store.Tx) error {
		for _, a := range lrps {
			byKey[actualKey(a)] = a
			if err := tx.InsertActualLRP(a); err != nil {
				return err
			}
		}
		return nil
	})
	return byKey
}

func testActualLRPs(t *testing.T, s store.Store) {
	want := seedActuals(t, s)

	update(t, s, func(tx store.Tx) error {
		wantErr(t, "InsertActualLRP(duplicate)", tx.InsertActualLRP(NewActualLRP("p1", 0, ordinary, "x", "")), store.ErrExists)
		all, err := tx.ActualLRPs("p1", nil)
		if err != nil {
			return err
		}
		wantStrings(t, "tx.ActualLRPs(p1)", actualKeys(all),
			[]string{"p1/0/ORDINARY", "p1/0/EVACUATING", "p1/1/ORDINARY", "p1/1/SUSPECT", "p1/2/ORDINARY"})
		for _, a := range all {
			wantEqual(t, "tx.ActualLRPs "+actualKey(a), a, want[actualKey(a)])
		}
		one, err := tx.ActualLRPs("p1", i32(1))
		if err != nil {
			return err
		}
		wantStrings(t, "tx.ActualLRPs(p1, 1)", actualKeys(one), []string{"p1/1/ORDINARY", "p1/1/SUSPECT"})
		none, err := tx.ActualLRPs("missing", nil)
		if err != nil || len(none) != 0 {
			t.Errorf("tx.ActualLRPs(missing) = %v, %v; want none, nil", actualKeys(none), err)
		}
		return nil
	})

	// Update replaces payload and plaintext columns (the cell filter sees the move).
	moved := NewActualLRP("p1", 2, ordinary, "cf-a", "cell-9")
	moved.Since, moved.CrashCount = 1800000000000000000, 3
	update(t, s, func(tx store.Tx) error {
		if err := tx.UpdateActualLRP(moved); err != nil {
			return err
		}
		wantErr(t, "UpdateActualLRP(missing)", tx.UpdateActualLRP(NewActualLRP("p1", 2, evacuating, "cf-a", "")), store.ErrNotFound)
		return nil
	})
	got, err := s.ActualLRPs(ctx(t), store.ActualFilter{CellID: "cell-9"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("ActualLRPs(cell-9) = %v, want the moved lrp", actualKeys(got))
	}
	wantEqual(t, "moved actual lrp", got[0], moved)

	deleteTwice(t, s, "DeleteActualLRP", func(tx store.Tx) error { return tx.DeleteActualLRP("p1", 0, evacuating) })
	got, err = s.ActualLRPs(ctx(t), store.ActualFilter{ProcessGuid: "p1", Index: i32(0)})
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "ActualLRPs(p1, 0) after delete", actualKeys(got), []string{"p1/0/ORDINARY"})
}

func testActualLRPFilters(t *testing.T, s store.Store) {
	want := seedActuals(t, s)
	for _, tc := range []struct {
		f    store.ActualFilter
		want []string
	}{
		{store.ActualFilter{}, []string{"p1/0/ORDINARY", "p1/0/EVACUATING", "p1/1/ORDINARY", "p1/1/SUSPECT", "p1/2/ORDINARY", "p2/0/ORDINARY"}},
		{store.ActualFilter{Domain: "cf-b"}, []string{"p2/0/ORDINARY"}},
		{store.ActualFilter{CellID: "cell-1"}, []string{"p1/0/ORDINARY", "p2/0/ORDINARY"}},
		{store.ActualFilter{CellID: "cell-2", Domain: "cf-a"}, []string{"p1/0/EVACUATING", "p1/1/ORDINARY"}},
		{store.ActualFilter{ProcessGuid: "p1"}, []string{"p1/0/ORDINARY", "p1/0/EVACUATING", "p1/1/ORDINARY", "p1/1/SUSPECT", "p1/2/ORDINARY"}},
		{store.ActualFilter{ProcessGuid: "p1", Index: i32(1)}, []string{"p1/1/ORDINARY", "p1/1/SUSPECT"}},
		{store.ActualFilter{Index: i32(0)}, []string{"p1/0/ORDINARY", "p1/0/EVACUATING", "p2/0/ORDINARY"}},
		{store.ActualFilter{ProcessGuid: "p1", CellID: "cell-3"}, []string{"p1/1/SUSPECT"}},
		{store.ActualFilter{Domain: "none"}, nil},
		// Ranges compare byte by byte: "p1" < "p1/" < "p2" < "p2-" < "p3".
		{store.ActualFilter{Range: store.GuidRange{To: "p2"}}, []string{"p1/0/ORDINARY", "p1/0/EVACUATING", "p1/1/ORDINARY", "p1/1/SUSPECT", "p1/2/ORDINARY"}},
		{store.ActualFilter{Range: store.GuidRange{From: "p2"}}, []string{"p2/0/ORDINARY"}},
		{store.ActualFilter{Range: store.GuidRange{From: "p1/", To: "p3"}}, []string{"p2/0/ORDINARY"}},
		{store.ActualFilter{Range: store.GuidRange{From: "p1", To: "p1"}}, nil},
		{store.ActualFilter{Range: store.GuidRange{From: "P", To: "p"}}, nil},
		{store.ActualFilter{Range: store.GuidRange{To: "p2-"}, Index: i32(0)}, []string{"p1/0/ORDINARY", "p1/0/EVACUATING", "p2/0/ORDINARY"}},
	} {
		what := fmt.Sprintf("%+v", tc.f)
		got, err := s.ActualLRPs(ctx(t), tc.f)
		if err != nil {
			t.Fatalf("ActualLRPs(%s): %v", what, err)
		}
		wantStrings(t, "ActualLRPs("+what+")", actualKeys(got), tc.want)
		streamed := stream[models.ActualLRP](t, "EachActualLRP", s.EachActualLRP, tc.f)
		wantStrings(t, "EachActualLRP("+what+")", actualKeys(streamed), tc.want)
		for _, a := range streamed {
			wantEqual(t, "streamed "+actualKey(a), a, want[actualKey(a)])
		}
	}
}
