package sqlstore

import "github.com/diego-go/diego/src/internal/sqldb"

// migration0002FilterIndexes adds the secondary indexes behind the list
// filters (cell, domain, task state) and behind encryption status and
// re-encryption (key_label on every encrypted table).
var migration0002FilterIndexes = sqldb.Migration{
	Version: 2,
	Name:    "filter_indexes",
	Stmts: map[string][]string{
		DriverSQLite:   filterIndexes,
		DriverPostgres: filterIndexes,
		DriverMySQL:    filterIndexes,
	},
}

// filterIndexes is portable across the three dialects.
var filterIndexes = []string{
	`CREATE INDEX actual_lrps_cell_id_idx ON actual_lrps (cell_id)`,
	`CREATE INDEX actual_lrps_domain_idx ON actual_lrps (domain)`,
	`CREATE INDEX actual_lrps_key_label_idx ON actual_lrps (key_label)`,
	`CREATE INDEX desired_lrps_domain_idx ON desired_lrps (domain)`,
	`CREATE INDEX desired_lrps_key_label_idx ON desired_lrps (key_label)`,
	`CREATE INDEX tasks_domain_idx ON tasks (domain)`,
	`CREATE INDEX tasks_cell_id_idx ON tasks (cell_id)`,
	`CREATE INDEX tasks_state_idx ON tasks (state)`,
	`CREATE INDEX tasks_key_label_idx ON tasks (key_label)`,
}
