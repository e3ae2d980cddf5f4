package sqlstore

import (
	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/locket/sqllock"
)

// ErrSchemaTooNew: the database was migrated by a newer binary.
var ErrSchemaTooNew = sqldb.ErrSchemaTooNew

// schema is the BBS's schema. Locket's tables have their own (sqllock.Schema),
// which Open applies after this one.
var schema = sqldb.Schema{
	Table: "schema_migrations",
	Owner: "BBS",
	// Append only.
	Migrations: []sqldb.Migration{
		migration0001Initial,
		migration0002FilterIndexes,
	},
}

// withLocketTables appends to a driver's statements of the first migration
// Locket's tables, which that migration created before Locket had a schema
// of its own (IF NOT EXISTS: Locket may have made them first).
func withLocketTables(driver string, stmts ...string) []string {
	return append(stmts, sqllock.Schema.Migrations[0].Stmts[driver]...)
}
