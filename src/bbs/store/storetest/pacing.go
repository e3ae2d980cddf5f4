package storetest

import (
	"testing"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/reencrypt"
)

// rotateTo makes k2 the ring's active key, k1 still readable.
func rotateTo(t *testing.T, ring *keyring.Ring) {
	t.Helper()
	if err := ring.Replace(map[string]string{"k1": "passphrase for k1", "k2": "passphrase for k2"}, "k2"); err != nil {
		t.Fatal(err)
	}
}

// testReencryptPaced: with a batch size and a pause, every batch moves at
// most that many rows, and a running re-encryption's status shows progress
// strictly between none and all of its rows, as the hub reads it.
func testReencryptPaced(t *testing.T, open Opener) {
	ring := NewRing(t, "k1")
	s := mustOpen(t, open, ring)
	const n, batch = 10, 4 // 30 rows: 9 batches
	seedAll(t, s, "row", n)
	rotateTo(t, ring)

	// All with a batch size: every call of progress moved at most batch rows.
	var calls int
	var last int64
	if err := reencrypt.All(ctx(t), s, ring, reencrypt.Pacing{BatchSize: batch, BatchPause: time.Millisecond}, func(done int64) {
		if done-last > batch || done < last {
			t.Errorf("a batch moved %d rows (from %d to %d); want at most %d", done-last, last, done, batch)
		}
		calls++
		last = done
	}); err != nil {
		t.Fatalf("paced All: %v", err)
	}
	if last != 3*n || calls < 3*n/batch {
		t.Errorf("paced All: %d batches ending at %d rows; want at least %d ending at %d", calls, last, 3*n/batch, 3*n)
	}
	wantStrings(t, "EncryptionStatus after paced All", status(t, s), allUnder("k2", n))

	// The policy, as a rotation starts it: its status shows a running
	// re-encryption part way through.
	if err := ring.Replace(map[string]string{"k2": "passphrase for k2", "k3": "passphrase for k3"}, "k3"); err != nil {
		t.Fatal(err)
	}
	p, err := reencrypt.New(ring, s, nil, reencrypt.Pacing{BatchSize: 2, BatchPause: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	if _, err := p.StartReencrypt(ctx(t)); err != nil {
		t.Fatal(err)
	}
	var between reencrypt.Status
	for deadline := time.Now().Add(time.Minute); between.RowsReencrypted == 0; {
		st, err := p.Status(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running {
			t.Fatalf("the paced re-encryption ended before its status showed progress between 0 and %d: %+v", 3*n, st)
		}
		if total := st.RowsReencrypted + st.PendingRows; st.RowsReencrypted > 0 && st.RowsReencrypted < total {
			between = st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress between 0 and all rows within a minute: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if between.RowsReencrypted+between.PendingRows != 3*n {
		t.Errorf("progress %d of %d rows; want a total of %d", between.RowsReencrypted, between.RowsReencrypted+between.PendingRows, 3*n)
	}
	p.Wait()
	st, err := p.Status(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Running || st.LastError != "" || st.RowsReencrypted != 3*n || st.PendingRows != 0 {
		t.Errorf("after the paced re-encryption: %+v; want %d rows re-encrypted, none pending", st, 3*n)
	}
	wantStrings(t, "EncryptionStatus after the paced policy", status(t, s), allUnder("k3", n))
	checkReadable(t, s, "row", n)
}

// testReencryptPacedStops: Stop ends a paced re-encryption at its pause,
// leaving the rest under the old key for the next BBS; a later run finishes.
func testReencryptPacedStops(t *testing.T, open Opener) {
	ring := NewRing(t, "k1")
	s := mustOpen(t, open, ring)
	const n = 5
	seedAll(t, s, "row", n)
	rotateTo(t, ring)
	p, err := reencrypt.New(ring, s, nil, reencrypt.Pacing{BatchSize: 1, BatchPause: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.StartReencrypt(ctx(t)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, p, "the first batch", func(st reencrypt.Status) bool { return st.RowsReencrypted == 1 })
	p.Stop() // would take hours if the pause were not cut short
	st, err := p.Status(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Running || st.LastError == "" || st.PendingRows != 3*n-1 {
		t.Errorf("after Stop: %+v; want stopped with an error and %d rows pending", st, 3*n-1)
	}
	if err := reencrypt.All(ctx(t), s, ring, reencrypt.Pacing{}, nil); err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "EncryptionStatus after the rest", status(t, s), allUnder("k2", n))
}

func waitStatus(t *testing.T, p *reencrypt.Policy, what string, ok func(reencrypt.Status) bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		st, err := p.Status(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if ok(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %+v", what, st)
		}
	}
}
