package reencrypt_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/bbs/store"
)

// fakeStore keeps row counts per (table, label); ResealBatch moves up to
// batch rows to the ring's active label, or with lose rewrites none (every
// row changed underneath).
type fakeStore struct {
	store.Store
	ring     *keyring.Ring
	rows     map[[2]string]int64
	batch    int64
	lose     bool
	recorded string
	batches  int
	limits   []int // each ResealBatch's limit
}

func (f *fakeStore) EncryptionStatus(context.Context) ([]store.LabelCount, error) {
	var out []store.LabelCount
	for k, n := range f.rows {
		if n > 0 {
			out = append(out, store.LabelCount{Table: k[0], Label: k[1], Rows: n})
		}
	}
	return out, nil
}

func (f *fakeStore) ResealBatch(_ context.Context, table, from string, limit int) (store.Resealed, error) {
	f.batches++
	f.limits = append(f.limits, limit)
	batch := f.batch
	if limit > 0 {
		batch = int64(limit)
	}
	n := min(batch, f.rows[[2]string{table, from}])
	if f.lose {
		return store.Resealed{Read: int(n)}, nil // every row changed underneath
	}
	f.rows[[2]string{table, from}] -= n
	f.rows[[2]string{table, f.ring.ActiveLabel()}] += n
	return store.Resealed{Read: int(n), Rewritten: int(n)}, nil
}

func (f *fakeStore) RecordActiveKeyLabel(context.Context) error {
	f.recorded = f.ring.ActiveLabel()
	return nil
}

func ring(t *testing.T, active string, labels ...string) *keyring.Ring {
	keys := map[string]string{active: "p-" + active}
	for _, l := range labels {
		keys[l] = "p-" + l
	}
	r, err := keyring.NewRing(keys, active)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAllMovesEveryRowAndRecordsTheLabel(t *testing.T) {
	r := ring(t, "k2", "k1")
	f := &fakeStore{ring: r, batch: 10, rows: map[[2]string]int64{{"tasks", "k1"}: 25, {"actual_lrps", "k1"}: 5, {"tasks", "k2"}: 3}}
	var last int64
	if err := reencrypt.All(context.Background(), f, r, reencrypt.Pacing{}, func(done int64) { last = done }); err != nil {
		t.Fatal(err)
	}
	if last != 30 || f.rows[[2]string{"tasks", "k1"}] != 0 || f.rows[[2]string{"tasks", "k2"}] != 28 || f.recorded != "k2" {
		t.Fatalf("progress %d, rows %v, recorded %q", last, f.rows, f.recorded)
	}
}

func TestAllStopsWhenRowsKeepChanging(t *testing.T) {
	r := ring(t, "k2", "k1")
	f := &fakeStore{ring: r, batch: 10, lose: true, rows: map[[2]string]int64{{"tasks", "k1"}: 25}}
	err := reencrypt.All(context.Background(), f, r, reencrypt.Pacing{}, nil)
	if !errors.Is(err, store.ErrConflict) || f.batches != 20 {
		t.Fatalf("err = %v after %d batches, want ErrConflict after 20", err, f.batches)
	}
}

func TestSettleRefusesAnUnknownLabel(t *testing.T) {
	r := ring(t, "k2")
	f := &fakeStore{ring: r, batch: 10, rows: map[[2]string]int64{{"desired_lrps", "k1"}: 1}}
	err := reencrypt.Settle(context.Background(), f, r, nil)
	if !errors.Is(err, store.ErrUnknownKeyLabel) || !strings.Contains(err.Error(), `"k1"`) || !strings.Contains(err.Error(), "desired_lrps") {
		t.Fatalf("err = %v", err)
	}
	if f.batches != 0 || f.recorded != "" {
		t.Fatal("settle changed something")
	}
}

func TestSettleWithNothingStaleOnlyRecords(t *testing.T) {
	r := ring(t, "k1")
	f := &fakeStore{ring: r, batch: 10, rows: map[[2]string]int64{{"tasks", "k1"}: 4}}
	if err := reencrypt.Settle(context.Background(), f, r, nil); err != nil {
		t.Fatal(err)
	}
	if f.batches != 0 || f.recorded != "k1" {
		t.Fatalf("%d batches, recorded %q", f.batches, f.recorded)
	}
}

func TestAllPassesTheBatchSizeAndPausesBetweenBatches(t *testing.T) {
	r := ring(t, "k2", "k1")
	f := &fakeStore{ring: r, batch: 10, rows: map[[2]string]int64{{"tasks", "k1"}: 7}}
	var steps []int64
	if err := reencrypt.All(context.Background(), f, r, reencrypt.Pacing{BatchSize: 3, BatchPause: time.Millisecond}, func(done int64) {
		steps = append(steps, done)
	}); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 || steps[0] != 3 || steps[1] != 6 || steps[2] != 7 {
		t.Fatalf("progress %v, want [3 6 7]", steps)
	}
	for _, l := range f.limits {
		if l != 3 {
			t.Fatalf("limits %v, want every batch limited to 3", f.limits)
		}
	}
}

func TestAllPauseEndsWithTheContext(t *testing.T) {
	r := ring(t, "k2", "k1")
	f := &fakeStore{ring: r, batch: 10, rows: map[[2]string]int64{{"tasks", "k1"}: 7}}
	ctx, cancel := context.WithCancel(context.Background())
	err := reencrypt.All(ctx, f, r, reencrypt.Pacing{BatchSize: 1, BatchPause: time.Hour}, func(int64) { cancel() })
	if !errors.Is(err, context.Canceled) || f.rows[[2]string{"tasks", "k1"}] != 6 {
		t.Fatalf("err = %v with %d rows left; want context.Canceled after one batch (6 left)", err, f.rows[[2]string{"tasks", "k1"}])
	}
}

func TestPacingRejectsNegativeValues(t *testing.T) {
	for _, p := range []reencrypt.Pacing{{BatchSize: -1}, {BatchPause: -time.Second}} {
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), "must not be negative") {
			t.Errorf("%+v: err = %v", p, err)
		}
		if _, err := reencrypt.New(ring(t, "k1"), &fakeStore{}, nil, p, nil); err == nil {
			t.Errorf("New with %+v succeeded", p)
		}
		if err := reencrypt.All(context.Background(), &fakeStore{}, ring(t, "k1"), p, nil); err == nil {
			t.Errorf("All with %+v succeeded", p)
		}
	}
	if err := (reencrypt.Pacing{}).Validate(); err != nil {
		t.Errorf("the zero Pacing: %v", err)
	}
}
