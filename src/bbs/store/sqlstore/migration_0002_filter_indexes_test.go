package sqlstore

import "testing"

var filterIndexNames = []string{
	"actual_lrps_cell_id_idx", "actual_lrps_domain_idx", "actual_lrps_key_label_idx",
	"desired_lrps_domain_idx", "desired_lrps_key_label_idx",
	"tasks_domain_idx", "tasks_cell_id_idx", "tasks_state_idx", "tasks_key_label_idx",
}

func TestMigration0002FilterIndexes(t *testing.T) {
	eachBackend(t, func(t *testing.T, driver, dsn string) {
		db, d := openRaw(t, driver, dsn)
		migrateTo(t, db, d, 1)
		// Existing rows survive the migration.
		if _, err := db.Exec(d.q("INSERT INTO tasks (task_guid, domain, state, cell_id, key_label, payload) VALUES ('t1', 'd', 1, 'c', 'k', ?)"), []byte{1}); err != nil {
			t.Fatal(err)
		}
		for _, name := range filterIndexNames {
			if indexExists(t, db, d, name) {
				t.Errorf("index %s exists before migration 2", name)
			}
		}

		migrateTo(t, db, d, 2)
		for _, name := range filterIndexNames {
			if !indexExists(t, db, d, name) {
				t.Errorf("index %s missing after migration 2", name)
			}
		}
		if got := appliedList(t, db); len(got) != 2 || got[2] != "filter_indexes" {
			t.Errorf("schema_migrations = %v, want versions 1 and 2", got)
		}
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM tasks WHERE cell_id = 'c'").Scan(&n); err != nil || n != 1 {
			t.Errorf("task rows after migration 2: %d, %v; want 1", n, err)
		}
	})
}
