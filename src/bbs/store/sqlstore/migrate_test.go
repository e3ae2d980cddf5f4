package sqlstore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/sqldb"
)

func TestMigrationsAreNumberedAndComplete(t *testing.T) {
	for i, m := range schema.Migrations {
		if m.Version != i+1 {
			t.Errorf("migration %d (%s) has version %d; versions must be 1, 2, 3, ...", i, m.Name, m.Version)
		}
		for driver := range sqldb.Dialects {
			if len(m.Stmts[driver]) == 0 {
				t.Errorf("migration %04d %s has no statements for %s", m.Version, m.Name, driver)
			}
		}
	}
}

func TestOpenMigratesOnceAndRejectsNewerSchema(t *testing.T) {
	eachBackend(t, func(t *testing.T, driver, dsn string) {
		ring := storetest.NewRing(t, "k1")
		s := mustOpen(t, driver, dsn, ring)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = mustOpen(t, driver, dsn, ring) // a second Open applies nothing
		if got := appliedList(t, s.w); len(got) != len(schema.Migrations) {
			t.Errorf("schema_migrations after two opens = %v, want %d versions", got, len(schema.Migrations))
		}

		// A newer binary migrated this database further.
		if _, err := s.w.Exec(s.d.q("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', 0)"), 9999); err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err := Open(context.Background(), Config{Driver: driver, DSN: dsn}, ring, nil)
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("Open on a newer schema: got %v, want ErrSchemaTooNew", err)
		}
		if !strings.Contains(err.Error(), "9999") {
			t.Errorf("error %q should name the database's version", err)
		}
	})
}

// TestConcurrentOpensMigrateOnce opens one fresh database from several
// goroutines (separate pools, as separate processes would): exactly one
// applies each migration and every Open succeeds.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, driver, dsn string) {
		ring := storetest.NewRing(t, "k1")
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				s, err := Open(context.Background(), Config{Driver: driver, DSN: dsn}, ring, nil)
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Errorf("concurrent Open: %v", err)
			}
		}
		s := mustOpen(t, driver, dsn, ring)
		if got := appliedList(t, s.w); len(got) != len(schema.Migrations) {
			t.Errorf("schema_migrations = %v, want each of %d versions once", got, len(schema.Migrations))
		}
	})
}
