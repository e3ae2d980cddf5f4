package storetest

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/bbs/store"
)

// openSettled opens a store and runs the start-up re-encryption policy on
// it, as the BBS does before serving.
func openSettled(t *testing.T, open Opener, ring *keyring.Ring) (store.Store, error) {
	t.Helper()
	s, err := open(t, ring)
	if err != nil {
		return nil, err
	}
	if err := reencrypt.Settle(ctx(t), s, ring, nil); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// mustOpenSettled is openSettled, closing the store when the test ends.
func mustOpenSettled(t *testing.T, open Opener, ring *keyring.Ring) store.Store {
	t.Helper()
	s, err := openSettled(t, open, ring)
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seedAll writes n rows into each encrypted table.
func seedAll(t *testing.T, s store.Store, prefix string, n int) {
	t.Helper()
	guids := make([]string, n)
	for i := range guids {
		guids[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	update(t, s, func(tx store.Tx) error { return insertOneOfEach(tx, guids...) })
}

// status renders EncryptionStatus as sorted "table:label=rows" strings.
func status(t *testing.T, s store.Store) []string {
	t.Helper()
	lcs, err := s.EncryptionStatus(ctx(t))
	if err != nil {
		t.Fatalf("EncryptionStatus: %v", err)
	}
	out := make([]string, len(lcs))
	for i, lc := range lcs {
		out[i] = fmt.Sprintf("%s:%s=%d", lc.Table, lc.Label, lc.Rows)
	}
	sort.Strings(out)
	return out
}

func allUnder(label string, rows int) []string {
	return []string{
		fmt.Sprintf("actual_lrps:%s=%d", label, rows),
		fmt.Sprintf("desired_lrps:%s=%d", label, rows),
		fmt.Sprintf("tasks:%s=%d", label, rows),
	}
}

// checkReadable reads every seeded row back through every read path.
func checkReadable(t *testing.T, s store.Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		g := fmt.Sprintf("%s-%03d", prefix, i)
		d, err := s.DesiredLRP(ctx(t), g)
		if err != nil {
			t.Fatalf("DesiredLRP(%s): %v", g, err)
		}
		wantEqual(t, "desired "+g, d, NewDesiredLRP(g, "d"))
		if _, err := s.SchedulingInfo(ctx(t), g); err != nil {
			t.Fatalf("SchedulingInfo(%s): %v", g, err)
		}
		task, err := s.Task(ctx(t), g)
		if err != nil {
			t.Fatalf("Task(%s): %v", g, err)
		}
		wantEqual(t, "task "+g, task, NewTask(g, "d", "cell", models.Task_Running))
	}
	as, err := s.ActualLRPs(ctx(t), store.ActualFilter{})
	if err != nil {
		t.Fatalf("ActualLRPs: %v", err)
	}
	if len(as) < n {
		t.Fatalf("ActualLRPs: %d rows, want at least %d", len(as), n)
	}
}

func testReencrypt(t *testing.T, open Opener) {
	ring := NewRing(t, "k1")
	s := mustOpen(t, open, ring)
	wantStrings(t, "EncryptionStatus(empty)", status(t, s), nil)
	const n = 1100 // more than two re-encryption batches
	seedAll(t, s, "old", n)
	wantStrings(t, "EncryptionStatus", status(t, s), allUnder("k1", n))

	// Rotate at run time: new writes use k2, old rows stay under k1.
	if err := ring.Replace(map[string]string{"k1": "passphrase for k1", "k2": "passphrase for k2"}, "k2"); err != nil {
		t.Fatal(err)
	}
	seedAll(t, s, "new", 2)
	checkReadable(t, s, "old", 3)
	wantStrings(t, "EncryptionStatus after rotation", status(t, s), []string{
		fmt.Sprintf("actual_lrps:k1=%d", n), "actual_lrps:k2=2",
		fmt.Sprintf("desired_lrps:k1=%d", n), "desired_lrps:k2=2",
		fmt.Sprintf("tasks:k1=%d", n), "tasks:k2=2",
	})

	var calls int
	var last int64
	if err := reencrypt.All(ctx(t), s, ring, reencrypt.Pacing{}, func(done int64) {
		calls++
		if done < last {
			t.Errorf("progress went backwards: %d after %d", done, last)
		}
		last = done
	}); err != nil {
		t.Fatalf("Reencrypt: %v", err)
	}
	if last != 3*n || calls < 3 {
		t.Errorf("Reencrypt progress: %d calls ending at %d; want several calls ending at %d", calls, last, 3*n)
	}
	wantStrings(t, "EncryptionStatus after Reencrypt", status(t, s), allUnder("k2", n+2))
	checkReadable(t, s, "old", n)
	checkReadable(t, s, "new", 2)

	// With everything under k2, k1 can be dropped from the ring.
	if err := ring.Replace(map[string]string{"k2": "passphrase for k2"}, "k2"); err != nil {
		t.Fatal(err)
	}
	checkReadable(t, s, "old", 3)
	if err := reencrypt.All(ctx(t), s, ring, reencrypt.Pacing{}, nil); err != nil {
		t.Fatalf("Reencrypt with nothing to do: %v", err)
	}
}

func testReopenUnknownLabel(t *testing.T, open Opener) {
	s := mustOpenSettled(t, open, NewRing(t, "k1"))
	seedAll(t, s, "row", 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := openSettled(t, open, NewRing(t, "k2"))
	if err == nil {
		s2.Close()
		t.Fatal("reopening with a ring lacking the stored label k1 succeeded")
	}
	wantErr(t, "reopen without k1", err, store.ErrUnknownKeyLabel)
	if msg := err.Error(); !strings.Contains(msg, `"k1"`) || !strings.Contains(msg, "_lrps") && !strings.Contains(msg, "tasks") {
		t.Errorf("reopen error %q should name the table and the label k1", msg)
	}
	// Nothing was changed: the right ring still opens it.
	s3 := mustOpenSettled(t, open, NewRing(t, "k1"))
	checkReadable(t, s3, "row", 2)
}

func testReopenRotatesKey(t *testing.T, open Opener) {
	s := mustOpenSettled(t, open, NewRing(t, "k1"))
	const n = 600
	seedAll(t, s, "row", n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening with a new active key re-encrypts everything before serving.
	s2 := mustOpenSettled(t, open, NewRing(t, "k2", "k1"))
	wantStrings(t, "EncryptionStatus after reopen with k2 active", status(t, s2), allUnder("k2", n))
	checkReadable(t, s2, "row", n)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	// k1 is no longer needed.
	s3 := mustOpenSettled(t, open, NewRing(t, "k2"))
	checkReadable(t, s3, "row", 5)
}

// testReencryptConcurrentWrites rewrites rows while Reencrypt runs: no
// write may be lost to the re-encryption (it compares rev before writing).
func testReencryptConcurrentWrites(t *testing.T, open Opener) {
	ring := NewRing(t, "k1")
	s := mustOpen(t, open, ring)
	const n = 1500
	update(t, s, func(tx store.Tx) error {
		for i := range n {
			if err := tx.InsertActualLRP(NewActualLRP(fmt.Sprintf("p-%04d", i), 0, ordinary, "d", "cell")); err != nil {
				return err
			}
		}
		return nil
	})
	if err := ring.Replace(map[string]string{"k1": "passphrase for k1", "k2": "passphrase for k2"}, "k2"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		// Walk the rows from the end, so writer and re-encryption meet in the middle.
		for i := n - 1; i >= 0; i-- {
			err := s.Update(ctx(t), func(tx store.Tx) error {
				as, err := tx.ActualLRPs(fmt.Sprintf("p-%04d", i), nil)
				if err != nil || len(as) != 1 {
					return fmt.Errorf("reading p-%04d: %d rows, %w", i, len(as), err)
				}
				as[0].CrashCount++
				return tx.UpdateActualLRP(as[0])
			})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	if err := reencrypt.All(ctx(t), s, ring, reencrypt.Pacing{}, nil); err != nil {
		t.Fatalf("Reencrypt: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("concurrent writer: %v", err)
	}
	as, err := s.ActualLRPs(ctx(t), store.ActualFilter{})
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, a := range as {
		if a.CrashCount != 1 {
			lost++
		}
	}
	if len(as) != n || lost > 0 {
		t.Errorf("%d rows, %d lost their concurrent update; want %d rows, none lost", len(as), lost, n)
	}
	wantStrings(t, "EncryptionStatus", status(t, s), []string{fmt.Sprintf("actual_lrps:k2=%d", n)})
}
