package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
)

func testUpdateRollsBack(t *testing.T, s store.Store) {
	boom := errors.New("boom")
	err := s.Update(ctx(t), func(tx store.Tx) error {
		if err := tx.InsertTask(NewTask("t1", "d", "", models.Task_Pending)); err != nil {
			return err
		}
		if err := tx.InsertDesiredLRP(NewDesiredLRP("p1", "d")); err != nil {
			return err
		}
		if err := tx.InsertActualLRP(NewActualLRP("p1", 0, ordinary, "d", "")); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", boom)
	})
	wantErr(t, "Update(fn fails)", err, boom)
	if errors.Is(err, store.ErrRetryable) {
		t.Errorf("Update(fn fails) = %v; a plain error must not be reported retryable", err)
	}
	assertEmpty(t, s, "after fn failed")

	func() {
		defer func() {
			if r := recover(); r != "kaboom" {
				t.Errorf("Update(fn panics): recovered %v, want the panic re-raised", r)
			}
		}()
		_ = s.Update(ctx(t), func(tx store.Tx) error {
			if err := tx.InsertTask(NewTask("t1", "d", "", models.Task_Pending)); err != nil {
				return err
			}
			panic("kaboom")
		})
	}()
	assertEmpty(t, s, "after fn panicked")
	// The store (and on SQLite its single writer connection) is still usable.
	update(t, s, func(tx store.Tx) error { return tx.InsertTask(NewTask("t1", "d", "", models.Task_Pending)) })
}

func assertEmpty(t *testing.T, s store.Store, when string) {
	t.Helper()
	if _, err := s.Task(ctx(t), "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("task t1 %s: got %v, want ErrNotFound (rolled back)", when, err)
	}
	if _, err := s.DesiredLRP(ctx(t), "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("desired lrp p1 %s: got %v, want ErrNotFound (rolled back)", when, err)
	}
	if as, err := s.ActualLRPs(ctx(t), store.ActualFilter{}); err != nil || len(as) != 0 {
		t.Errorf("actual lrps %s: got %v, %v; want none (rolled back)", when, actualKeys(as), err)
	}
}

func testUpdateRetries(t *testing.T, s store.Store) {
	// Each attempt inserts the same row: that only works if failed attempts
	// were rolled back.
	attempts := 0
	err := s.Update(ctx(t), func(tx store.Tx) error {
		attempts++
		if err := tx.InsertTask(NewTask("t1", "d", "", models.Task_Pending)); err != nil {
			return err
		}
		if attempts < 3 {
			return fmt.Errorf("simulated deadlock: %w", store.ErrRetryable)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update(retryable twice, then ok) = %v", err)
	}
	if attempts != 3 {
		t.Errorf("fn ran %d times, want 3", attempts)
	}
	if _, err := s.Task(ctx(t), "t1"); err != nil {
		t.Errorf("task written by the successful attempt: %v", err)
	}

	attempts = 0
	err = s.Update(ctx(t), func(tx store.Tx) error {
		attempts++
		return fmt.Errorf("simulated deadlock: %w", store.ErrRetryable)
	})
	wantErr(t, "Update(always retryable)", err, store.ErrRetryable)
	if attempts < 2 || attempts > 20 {
		t.Errorf("always-retryable fn ran %d times, want a small bounded number (>1)", attempts)
	}
}

func testUpdateContext(t *testing.T, s store.Store) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := s.Update(c, func(tx store.Tx) error {
		called = true
		return tx.InsertTask(NewTask("t1", "d", "", models.Task_Pending))
	})
	if err == nil {
		t.Fatalf("Update with a cancelled context succeeded (fn called: %v)", called)
	}
	if _, err := s.Task(ctx(t), "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("task written under a cancelled context: %v", err)
	}
}

// testConcurrentUpdates has many goroutines read-modify-write one row; with
// row locking (or SQLite's single writer) no increment may be lost, and
// concurrent readers keep working.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error { return tx.InsertActualLRP(NewActualLRP("p1", 0, ordinary, "d", "cell")) })
	const workers, each = 12, 10
	var wg sync.WaitGroup
	var failures atomic.Int32
	stop := make(chan struct{})
	var reads atomic.Int32
	readerDone := make(chan struct{})
	go func() { // a reader streaming while the writers work
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.EachActualLRP(ctx(t), store.ActualFilter{}, func([]byte) error { return nil }); err != nil {
				t.Errorf("EachActualLRP during writes: %v", err)
				return
			}
			reads.Add(1)
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := s.Update(ctx(t), func(tx store.Tx) error {
					as, err := tx.ActualLRPs("p1", i32(0))
					if err != nil {
						return err
					}
					if len(as) != 1 {
						return fmt.Errorf("got %d lrps", len(as))
					}
					as[0].CrashCount++
					return tx.UpdateActualLRP(as[0])
				})
				if err != nil {
					failures.Add(1)
					t.Errorf("concurrent Update: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-readerDone
	as, err := s.ActualLRPs(ctx(t), store.ActualFilter{ProcessGuid: "p1"})
	if err != nil || len(as) != 1 {
		t.Fatalf("ActualLRPs(p1) = %d lrps, %v", len(as), err)
	}
	want := int32(workers*each) - failures.Load()
	if as[0].CrashCount != want {
		t.Errorf("crash count after %d concurrent increments = %d, want %d (lost updates)", want, as[0].CrashCount, want)
	}
	t.Logf("%d increments, %d concurrent full reads", want, reads.Load())
}
