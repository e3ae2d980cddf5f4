package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/diego-go/diego/src/bbs/store"
)

func testDomains(t *testing.T, s store.Store) {
	now := time.Unix(1700000000, 0)
	domains := func(at time.Time) []string {
		t.Helper()
		ds, err := s.Domains(ctx(t), at)
		if err != nil {
			t.Fatalf("Domains: %v", err)
		}
		return ds
	}
	wantStrings(t, "Domains(empty store)", domains(now), nil)

	update(t, s, func(tx store.Tx) error {
		for name, exp := range map[string]time.Time{
			"forever": {},
			"future":  now.Add(time.Hour),
			"past":    now.Add(-time.Second),
		} {
			if err := tx.UpsertDomain(name, exp); err != nil {
				return err
			}
		}
		return nil
	})
	wantStrings(t, "Domains(now)", domains(now), []string{"forever", "future"})
	wantStrings(t, "Domains(now+2h)", domains(now.Add(2*time.Hour)), []string{"forever"})
	wantStrings(t, "Domains(now-1h)", domains(now.Add(-time.Hour)), []string{"forever", "future", "past"})

	// Upserting again moves the expiry either way, or removes it.
	update(t, s, func(tx store.Tx) error {
		if err := tx.UpsertDomain("past", now.Add(time.Minute)); err != nil {
			return err
		}
		if err := tx.UpsertDomain("future", now.Add(-time.Minute)); err != nil {
			return err
		}
		return tx.UpsertDomain("forever", now.Add(3*time.Hour))
	})
	wantStrings(t, "Domains(now) after re-upsert", domains(now), []string{"forever", "past"})
	wantStrings(t, "Domains(now+4h) after re-upsert", domains(now.Add(4*time.Hour)), nil)
	update(t, s, func(tx store.Tx) error { return tx.UpsertDomain("forever", time.Time{}) })
	wantStrings(t, "Domains(now+4h) after clearing expiry", domains(now.Add(4*time.Hour)), []string{"forever"})
}

func testStreamStopsOnError(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error { return insertOneOfEach(tx, "a", "b", "c") })
	stop := errors.New("stop")
	for name, each := range map[string]func(fn func([]byte) error) error{
		"EachDesiredLRP": func(fn func([]byte) error) error {
			return s.EachDesiredLRP(ctx(t), store.DesiredFilter{}, fn)
		},
		"EachSchedulingInfo": func(fn func([]byte) error) error {
			return s.EachSchedulingInfo(ctx(t), store.DesiredFilter{}, fn)
		},
		"EachActualLRP": func(fn func([]byte) error) error {
			return s.EachActualLRP(ctx(t), store.ActualFilter{}, fn)
		},
		"EachTask": func(fn func([]byte) error) error {
			return s.EachTask(ctx(t), store.TaskFilter{}, fn)
		},
	} {
		calls := 0
		err := each(func([]byte) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		wantErr(t, name, err, stop)
		if calls != 2 {
			t.Errorf("%s called fn %d times after it failed on the 2nd; want 2", name, calls)
		}
	}
}

func testPresences(t *testing.T, s store.Store) {
	for _, typ := range []string{"presence", "lock"} {
		ps, err := s.Presences(ctx(t), typ)
		if err != nil {
			t.Fatalf("Presences(%s): %v", typ, err)
		}
		if len(ps) != 0 {
			t.Errorf("Presences(%s) on an empty store = %+v, want none", typ, ps)
		}
	}
}
