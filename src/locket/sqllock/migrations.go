package sqllock

import "github.com/diego-go/diego/src/internal/sqldb"

// Schema is Locket's schema, recorded in its own table so that Locket and
// the BBS can share a database and each know only its own versions.
var Schema = sqldb.Schema{
	Table:      "locket_schema_migrations",
	Owner:      "Locket",
	Migrations: []sqldb.Migration{migration0001Locks},
}

// migration0001Locks creates the locks table and the configurations table
// (which holds the lock index floor). Databases migrated before Locket had
// its own schema already have both, made by the BBS's first migration with
// the same columns: IF NOT EXISTS leaves them as they are.
var migration0001Locks = sqldb.Migration{
	Version: 1,
	Name:    "locks",
	Stmts: map[string][]string{
		sqldb.DriverSQLite: {
			`CREATE TABLE IF NOT EXISTS configurations (
				id    TEXT NOT NULL PRIMARY KEY,
				value TEXT NOT NULL)`,
			`CREATE TABLE IF NOT EXISTS locks (
				path           TEXT NOT NULL PRIMARY KEY,
				owner          TEXT NOT NULL DEFAULT '',
				value          TEXT NOT NULL DEFAULT '',
				type           TEXT NOT NULL DEFAULT '',
				modified_index INTEGER NOT NULL DEFAULT 0,
				modified_id    TEXT NOT NULL DEFAULT '',
				ttl            INTEGER NOT NULL DEFAULT 0)`,
		},
		sqldb.DriverPostgres: {
			`CREATE TABLE IF NOT EXISTS configurations (
				id    VARCHAR(255) COLLATE "C" NOT NULL PRIMARY KEY,
				value TEXT NOT NULL)`,
			`CREATE TABLE IF NOT EXISTS locks (
				path           VARCHAR(255) COLLATE "C" NOT NULL PRIMARY KEY,
				owner          VARCHAR(255) NOT NULL DEFAULT '',
				value          VARCHAR(4096) NOT NULL DEFAULT '',
				type           VARCHAR(255) NOT NULL DEFAULT '',
				modified_index BIGINT NOT NULL DEFAULT 0,
				modified_id    VARCHAR(255) NOT NULL DEFAULT '',
				ttl            BIGINT NOT NULL DEFAULT 0)`,
		},
		sqldb.DriverMySQL: {
			`CREATE TABLE IF NOT EXISTS configurations (
				id    VARCHAR(255) NOT NULL PRIMARY KEY,
				value TEXT NOT NULL
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS locks (
				path           VARCHAR(255) NOT NULL PRIMARY KEY,
				owner          VARCHAR(255) NOT NULL DEFAULT '',
				value          VARCHAR(4096) NOT NULL DEFAULT '',
				type           VARCHAR(255) NOT NULL DEFAULT '',
				modified_index BIGINT NOT NULL DEFAULT 0,
				modified_id    VARCHAR(255) NOT NULL DEFAULT '',
				ttl            BIGINT NOT NULL DEFAULT 0
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		},
	},
}
