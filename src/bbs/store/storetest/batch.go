package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
)

// testInsertActualLRPs: a batch of 250 rows (several statements), some of
// whose keys are taken, inserts the free ones, skips the taken ones without
// touching them, and reports exactly the rows it inserted; a context that
// has ended stops it with the context's error and nothing committed.
func testInsertActualLRPs(t *testing.T, s store.Store) {
	taken := map[int32]bool{3: true, 150: true, 249: true}
	update(t, s, func(tx store.Tx) error {
		for i := range taken {
			old := NewActualLRP("b", i, ordinary, "d", "cell-old")
			if err := tx.InsertActualLRP(old); err != nil {
				return err
			}
		}
		return nil
	})
	batch := make([]*models.ActualLRP, 250)
	for i := range batch {
		batch[i] = NewActualLRP("b", int32(i), ordinary, "d", "")
		batch[i].ModificationTag.Epoch = fmt.Sprintf("new-%d", i)
	}
	var inserted []*models.ActualLRP
	update(t, s, func(tx store.Tx) error {
		var err error
		inserted, err = tx.InsertActualLRPs(batch)
		return err
	})
	if len(inserted) != 250-len(taken) {
		t.Fatalf("InsertActualLRPs reported %d rows inserted, want %d", len(inserted), 250-len(taken))
	}
	for _, a := range inserted {
		if taken[a.Index] {
			t.Fatalf("index %d was taken but reported inserted", a.Index)
		}
	}
	rows, err := s.ActualLRPs(ctx(t), store.ActualFilter{ProcessGuid: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 250 {
		t.Fatalf("%d rows stored, want 250", len(rows))
	}
	for _, r := range rows {
		if want := fmt.Sprintf("new-%d", r.Index); taken[r.Index] != (r.ModificationTag.Epoch != want) {
			t.Fatalf("index %d: epoch %q (taken %v)", r.Index, r.ModificationTag.Epoch, taken[r.Index])
		}
	}

	c, cancel := context.WithCancel(ctx(t))
	more := []*models.ActualLRP{NewActualLRP("c", 0, ordinary, "d", "")}
	err = s.Update(c, func(tx store.Tx) error {
		cancel()
		_, err := tx.InsertActualLRPs(more)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("InsertActualLRPs after cancel: err = %v, want context.Canceled", err)
	}
	if rows, _ := s.ActualLRPs(ctx(t), store.ActualFilter{ProcessGuid: "c"}); len(rows) != 0 {
		t.Fatalf("a cancelled insert left %d rows", len(rows))
	}
}
