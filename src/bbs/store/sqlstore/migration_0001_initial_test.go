package sqlstore

import (
	"errors"
	"testing"

	"github.com/diego-go/diego/src/bbs/store"
)

var initialTables = map[string]string{
	"domains":        "domain, expires_at",
	"desired_lrps":   "process_guid, domain, key_label, rev, scheduling_info, desired_lrp",
	"actual_lrps":    "process_guid, instance_index, presence, domain, state, cell_id, instance_guid, since, key_label, rev, payload",
	"tasks":          "task_guid, domain, state, cell_id, created_at, updated_at, first_completed_at, key_label, rev, payload",
	"configurations": "id, value",
	"locks":          "path, owner, value, type, modified_index, modified_id, ttl",
}

func TestMigration0001Initial(t *testing.T) {
	eachBackend(t, func(t *testing.T, driver, dsn string) {
		db, d := openRaw(t, driver, dsn)
		migrateTo(t, db, d, 0)
		for table := range initialTables {
			if err := tableExists(db, table, "*"); err == nil {
				t.Errorf("table %s exists before migration 1", table)
			}
		}

		migrateTo(t, db, d, 1)
		for table, cols := range initialTables {
			if err := tableExists(db, table, cols); err != nil {
				t.Errorf("after migration 1, table %s lacks columns %s: %v", table, cols, err)
			}
		}
		if got := appliedList(t, db); len(got) != 1 || got[1] != "initial" {
			t.Errorf("schema_migrations = %v, want {1: initial}", got)
		}

		// Primary keys are enforced, and bytewise: "A" and "a" are different keys.
		ins := d.q("INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state, key_label, payload) VALUES (?, 0, 0, 'd', 'UNCLAIMED', 'k', ?)")
		for _, g := range []string{"a", "A"} {
			if _, err := db.Exec(ins, g, []byte{1}); err != nil {
				t.Fatalf("inserting actual lrp %q: %v", g, err)
			}
		}
		_, err := db.Exec(ins, "a", []byte{1})
		if !errors.Is(d.wrap(err), store.ErrExists) {
			t.Errorf("duplicate primary key: got %v, want it mapped to ErrExists", err)
		}
		// Payload columns hold arbitrary bytes unchanged.
		blob := make([]byte, 70000)
		for i := range blob {
			blob[i] = byte(i)
		}
		if _, err := db.Exec(d.q("UPDATE actual_lrps SET payload = ? WHERE process_guid = 'A'"), blob); err != nil {
			t.Fatal(err)
		}
		var got []byte
		if err := db.QueryRow("SELECT payload FROM actual_lrps WHERE process_guid = 'A'").Scan(&got); err != nil || string(got) != string(blob) {
			t.Errorf("payload round trip: %d bytes (err %v), want the %d bytes written", len(got), err, len(blob))
		}
	})
}
