package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
)

// TestWriterServedInOrder: transactions waiting for SQLite's writer take it
// in the order they asked (database/sql alone picks a waiter at random).
func TestWriterServedInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := &DB{writer: make(chan struct{}, 1)}
		ctx := context.Background()
		if err := db.takeWriter(ctx); err != nil {
			t.Fatal(err)
		}
		var order []int
		done := make(chan struct{})
		for i := range 20 {
			go func() {
				if err := db.takeWriter(ctx); err != nil {
					t.Error(err)
				}
				order = append(order, i) // under the writer
				db.releaseWriter()
				done <- struct{}{}
			}()
			synctest.Wait() // i is waiting before i+1 asks
		}
		db.releaseWriter()
		for range 20 {
			<-done
		}
		if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}; !slices.Equal(order, want) {
			t.Errorf("writer taken in order %v, want %v", order, want)
		}
	})
}

// TestInTxWaitingForTheWriterEndsWithItsContext: on SQLite, a transaction
// waiting behind another gives up when its context ends, without taking
// the writer; the other commits.
func TestInTxWaitingForTheWriterEndsWithItsContext(t *testing.T) {
	db, err := Open(context.Background(), Config{Driver: DriverSQLite, DSN: filepath.Join(t.TempDir(), "w.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.InTx(context.Background(), func(tx *sql.Tx) error {
			close(holding)
			<-release
			_, err := tx.Exec("CREATE TABLE t (n INTEGER)")
			return err
		})
	}()
	<-holding
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err = db.InTx(ctx, func(*sql.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("waiting transaction with its context ended: %v (ran %v), want context.Canceled and not run", err, ran)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("the transaction holding the writer: %v", err)
	}
	if err := db.InTx(context.Background(), func(tx *sql.Tx) error { _, err := tx.Exec("INSERT INTO t VALUES (1)"); return err }); err != nil {
		t.Fatalf("a transaction after both: %v", err)
	}
}
