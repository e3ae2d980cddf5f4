// Package storetest is the contract suite every store.Store implementation must pass.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/store"
)

// Opener opens a store over the database that belongs to t, sealing with
// ring. The first call for a given t creates a fresh, empty database; later
// calls with the same t open the same database again (the suite closes a
// store before reopening it). Errors from the implementation's constructor
// are returned, not reported, so the suite can check them.
type Opener func(t *testing.T, ring *keyring.Ring) (store.Store, error)

// PerTest builds an Opener from newDSN, which creates a fresh database for
// a test and returns its DSN (for example testdb.Postgres), and openDSN,
// which opens a store on a DSN. It remembers the DSN per test.
func PerTest(newDSN func(t testing.TB) string, openDSN func(ctx context.Context, dsn string, ring *keyring.Ring) (store.Store, error)) Opener {
	var mu sync.Mutex
	dsns := map[*testing.T]string{}
	return func(t *testing.T, ring *keyring.Ring) (store.Store, error) {
		t.Helper()
		mu.Lock()
		dsn, ok := dsns[t]
		mu.Unlock()
		if !ok {
			dsn = newDSN(t)
			mu.Lock()
			dsns[t] = dsn
			mu.Unlock()
			t.Cleanup(func() {
				mu.Lock()
				delete(dsns, t)
				mu.Unlock()
			})
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return openDSN(ctx, dsn, ring)
	}
}

// Run runs the contract suite against the stores open returns. Subtests run
// in parallel, each on its own database.
func Run(t *testing.T, open Opener) {
	// Contracts on one store sealing with key "k1".
	runParallel(t, func(t *testing.T) store.Store { return mustOpen(t, open, NewRing(t, "k1")) }, []contract[store.Store]{
		{"Domains", testDomains},
		{"DesiredLRPs", testDesiredLRPs},
		{"DesiredLRPFilters", testDesiredLRPFilters},
		{"ServedDesiredLRPs", testServedDesiredLRPs},
		{"ActualLRPs", testActualLRPs},
		{"ActualLRPFilters", testActualLRPFilters},
		{"InsertActualLRPs", testInsertActualLRPs},
		{"Tasks", testTasks},
		{"TaskFilters", testTaskFilters},
		{"FinishedTasksLeaveTheirCell", testFinishedTasksLeaveTheirCell},
		{"StreamStopsOnError", testStreamStopsOnError},
		{"Presences", testPresences},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"UpdateRetries", testUpdateRetries},
		{"UpdateContext", testUpdateContext},
		{"ConcurrentUpdates", testConcurrentUpdates},
	})
	// Contracts that open (and reopen) stores with their own key rings.
	runParallel(t, func(*testing.T) Opener { return open }, []contract[Opener]{
		{"Reencrypt", testReencrypt},
		{"ReencryptConcurrentWrites", testReencryptConcurrentWrites},
		{"ReencryptPaced", testReencryptPaced},
		{"ReencryptPacedStops", testReencryptPacedStops},
		{"ReopenUnknownLabel", testReopenUnknownLabel},
		{"ReopenRotatesKey", testReopenRotatesKey},
	})
}

// contract is one named test of the suite, run on what its table provides.
type contract[A any] struct {
	name string
	fn   func(t *testing.T, arg A)
}

// runParallel runs each contract as a parallel subtest on what arg makes
// for that subtest.
func runParallel[A any](t *testing.T, arg func(t *testing.T) A, contracts []contract[A]) {
	for _, c := range contracts {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, arg(t))
		})
	}
}

// NewRing builds a ring holding labels (passphrase derived from the label)
// with active as the active key.
func NewRing(t testing.TB, active string, labels ...string) *keyring.Ring {
	t.Helper()
	keys := map[string]string{active: "passphrase for " + active}
	for _, l := range labels {
		keys[l] = "passphrase for " + l
	}
	r, err := keyring.NewRing(keys, active)
	if err != nil {
		t.Fatalf("building key ring: %v", err)
	}
	return r
}

// mustOpen opens a store and closes it when the test ends.
func mustOpen(t *testing.T, open Opener, ring *keyring.Ring) store.Store {
	t.Helper()
	s, err := open(t, ring)
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// update runs fn in a transaction and fails the test on error.
func update(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(ctx(t), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// insertOneOfEach inserts, for each guid, a desired LRP, its instance 0 on
// "cell" and a running task, all in domain "d".
func insertOneOfEach(tx store.Tx, guids ...string) error {
	for _, g := range guids {
		if err := tx.InsertDesiredLRP(NewDesiredLRP(g, "d")); err != nil {
			return err
		}
		if err := tx.InsertActualLRP(NewActualLRP(g, 0, ordinary, "d", "cell")); err != nil {
			return err
		}
		if err := tx.InsertTask(NewTask(g, "d", "cell", models.Task_Running)); err != nil {
			return err
		}
	}
	return nil
}

// stream is store.Collect, failing t on any error.
func stream[T any, F any, PT interface {
	*T
	proto.Message
}](t *testing.T, what string, each func(context.Context, F, func([]byte) error) error, f F) []PT {
	t.Helper()
	out, err := store.Collect[T, F, PT](ctx(t), each, f)
	if err != nil {
		t.Fatalf("%s(%s): %v", what, jsonOf(f), err)
	}
	return out
}

// deleteTwice runs del twice in one transaction: the first must succeed, the
// second (named what) must report store.ErrNotFound.
func deleteTwice(t *testing.T, s store.Store, what string, del func(tx store.Tx) error) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		if err := del(tx); err != nil {
			return err
		}
		wantErr(t, what+"(missing)", del(tx), store.ErrNotFound)
		return nil
	})
}

// wantErr fails unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one wrapping %q", what, err, target)
	}
}

// equaler is the gogo-generated Equal every model has.
type equaler interface{ Equal(any) bool }

func wantEqual(t *testing.T, what string, got, want equaler) {
	t.Helper()
	if !want.Equal(got) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", what, jsonOf(got), jsonOf(want))
	}
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

func wantStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}
