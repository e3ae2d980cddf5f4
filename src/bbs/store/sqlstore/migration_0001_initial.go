package sqlstore

import "github.com/diego-go/diego/src/internal/sqldb"

// migration0001Initial creates the tables of docs/bbs-design.md with their
// primary keys. Payload columns hold sealed protobuf records.
//
// SQLite keeps actual_lrps WITHOUT ROWID so the table itself is ordered by
// its primary key and a full listing is one sequential scan. PostgreSQL
// compares keys with the "C" collation and MySQL with utf8mb4_bin so
// ordering and uniqueness are bytewise on every database.
//
// It ends with Locket's tables (configurations, locks), in the statements of
// Locket's own first migration: this migration made them before Locket had a
// schema of its own, and a database Locket opened first already has them.
var migration0001Initial = sqldb.Migration{
	Version: 1,
	Name:    "initial",
	Stmts: map[string][]string{
		DriverSQLite: withLocketTables(DriverSQLite,
			`CREATE TABLE domains (
				domain     TEXT NOT NULL PRIMARY KEY,
				expires_at INTEGER NOT NULL DEFAULT 0)`,
			`CREATE TABLE desired_lrps (
				process_guid    TEXT NOT NULL PRIMARY KEY,
				domain          TEXT NOT NULL,
				key_label       TEXT NOT NULL,
				rev             INTEGER NOT NULL DEFAULT 0,
				scheduling_info BLOB NOT NULL,
				desired_lrp     BLOB NOT NULL)`,
			`CREATE TABLE actual_lrps (
				process_guid   TEXT NOT NULL,
				instance_index INTEGER NOT NULL,
				presence       INTEGER NOT NULL,
				domain         TEXT NOT NULL,
				state          TEXT NOT NULL,
				cell_id        TEXT NOT NULL DEFAULT '',
				instance_guid  TEXT NOT NULL DEFAULT '',
				since          INTEGER NOT NULL DEFAULT 0,
				key_label      TEXT NOT NULL,
				rev            INTEGER NOT NULL DEFAULT 0,
				payload        BLOB NOT NULL,
				PRIMARY KEY (process_guid, instance_index, presence)) WITHOUT ROWID`,
			`CREATE TABLE tasks (
				task_guid          TEXT NOT NULL PRIMARY KEY,
				domain             TEXT NOT NULL,
				state              INTEGER NOT NULL,
				cell_id            TEXT NOT NULL DEFAULT '',
				created_at         INTEGER NOT NULL DEFAULT 0,
				updated_at         INTEGER NOT NULL DEFAULT 0,
				first_completed_at INTEGER NOT NULL DEFAULT 0,
				key_label          TEXT NOT NULL,
				rev                INTEGER NOT NULL DEFAULT 0,
				payload            BLOB NOT NULL)`),
		DriverPostgres: withLocketTables(DriverPostgres,
			`CREATE TABLE domains (
				domain     VARCHAR(255) COLLATE "C" NOT NULL PRIMARY KEY,
				expires_at BIGINT NOT NULL DEFAULT 0)`,
			`CREATE TABLE desired_lrps (
				process_guid    VARCHAR(255) COLLATE "C" NOT NULL PRIMARY KEY,
				domain          VARCHAR(255) COLLATE "C" NOT NULL,
				key_label       VARCHAR(255) COLLATE "C" NOT NULL,
				rev             BIGINT NOT NULL DEFAULT 0,
				scheduling_info BYTEA NOT NULL,
				desired_lrp     BYTEA NOT NULL)`,
			`CREATE TABLE actual_lrps (
				process_guid   VARCHAR(255) COLLATE "C" NOT NULL,
				instance_index INTEGER NOT NULL,
				presence       INTEGER NOT NULL,
				domain         VARCHAR(255) COLLATE "C" NOT NULL,
				state          VARCHAR(255) COLLATE "C" NOT NULL,
				cell_id        VARCHAR(255) COLLATE "C" NOT NULL DEFAULT '',
				instance_guid  VARCHAR(255) COLLATE "C" NOT NULL DEFAULT '',
				since          BIGINT NOT NULL DEFAULT 0,
				key_label      VARCHAR(255) COLLATE "C" NOT NULL,
				rev            BIGINT NOT NULL DEFAULT 0,
				payload        BYTEA NOT NULL,
				PRIMARY KEY (process_guid, instance_index, presence))`,
			`CREATE TABLE tasks (
				task_guid          VARCHAR(255) COLLATE "C" NOT NULL PRIMARY KEY,
				domain             VARCHAR(255) COLLATE "C" NOT NULL,
				state              INTEGER NOT NULL,
				cell_id            VARCHAR(255) COLLATE "C" NOT NULL DEFAULT '',
				created_at         BIGINT NOT NULL DEFAULT 0,
				updated_at         BIGINT NOT NULL DEFAULT 0,
				first_completed_at BIGINT NOT NULL DEFAULT 0,
				key_label          VARCHAR(255) COLLATE "C" NOT NULL,
				rev                BIGINT NOT NULL DEFAULT 0,
				payload            BYTEA NOT NULL)`),
		DriverMySQL: withLocketTables(DriverMySQL,
			`CREATE TABLE domains (
				domain     VARCHAR(255) NOT NULL PRIMARY KEY,
				expires_at BIGINT NOT NULL DEFAULT 0
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE desired_lrps (
				process_guid    VARCHAR(255) NOT NULL PRIMARY KEY,
				domain          VARCHAR(255) NOT NULL,
				key_label       VARCHAR(255) NOT NULL,
				rev             BIGINT NOT NULL DEFAULT 0,
				scheduling_info LONGBLOB NOT NULL,
				desired_lrp     LONGBLOB NOT NULL
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE actual_lrps (
				process_guid   VARCHAR(255) NOT NULL,
				instance_index INT NOT NULL,
				presence       INT NOT NULL,
				domain         VARCHAR(255) NOT NULL,
				state          VARCHAR(255) NOT NULL,
				cell_id        VARCHAR(255) NOT NULL DEFAULT '',
				instance_guid  VARCHAR(255) NOT NULL DEFAULT '',
				since          BIGINT NOT NULL DEFAULT 0,
				key_label      VARCHAR(255) NOT NULL,
				rev            BIGINT NOT NULL DEFAULT 0,
				payload        LONGBLOB NOT NULL,
				PRIMARY KEY (process_guid, instance_index, presence)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE tasks (
				task_guid          VARCHAR(255) NOT NULL PRIMARY KEY,
				domain             VARCHAR(255) NOT NULL,
				state              INT NOT NULL,
				cell_id            VARCHAR(255) NOT NULL DEFAULT '',
				created_at         BIGINT NOT NULL DEFAULT 0,
				updated_at         BIGINT NOT NULL DEFAULT 0,
				first_completed_at BIGINT NOT NULL DEFAULT 0,
				key_label          VARCHAR(255) NOT NULL,
				rev                BIGINT NOT NULL DEFAULT 0,
				payload            LONGBLOB NOT NULL
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	},
}
