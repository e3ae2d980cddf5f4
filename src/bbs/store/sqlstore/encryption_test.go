package sqlstore

import (
	"context"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/storetest"
)

// mustOpenSettled opens a store and runs the start-up re-encryption policy
// on it, as the BBS does before serving.
func mustOpenSettled(t testing.TB, driver, dsn string, ring *keyring.Ring) *Store {
	t.Helper()
	s := mustOpen(t, driver, dsn, ring)
	if err := reencrypt.Settle(context.Background(), s, ring, testLogger(t)); err != nil {
		t.Fatalf("settling %s: %v", driver, err)
	}
	return s
}

func recordedLabel(t *testing.T, s *Store) string {
	t.Helper()
	var v string
	if err := s.r.QueryRow(s.d.q("SELECT value FROM configurations WHERE id = ?"), configEncryptionKeyLabel).Scan(&v); err != nil {
		t.Fatalf("reading recorded key label: %v", err)
	}
	return v
}

func TestOpenRecordsActiveLabel(t *testing.T) {
	eachBackend(t, func(t *testing.T, driver, dsn string) {
		s := mustOpenSettled(t, driver, dsn, storetest.NewRing(t, "k1"))
		if got := recordedLabel(t, s); got != "k1" {
			t.Errorf("recorded label = %q, want k1", got)
		}
		err := s.Update(context.Background(), func(tx store.Tx) error {
			return tx.InsertTask(storetest.NewTask("t1", "d", "", models.Task_Pending))
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = mustOpenSettled(t, driver, dsn, storetest.NewRing(t, "k2", "k1"))
		if got := recordedLabel(t, s); got != "k2" {
			t.Errorf("recorded label after rotation = %q, want k2", got)
		}
	})
}
