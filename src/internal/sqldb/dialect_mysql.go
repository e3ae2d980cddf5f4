package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQL and MariaDB use InnoDB at the server's default isolation; rows read
// through a Tx are locked with SELECT ... FOR UPDATE.
var mysqlDialect = &Dialect{
	Name:           DriverMySQL,
	ForUpdate:      " FOR UPDATE",
	Upsert:         upsertOnDuplicate,
	Classify:       classifyMySQL,
	open:           openMySQL,
	lockMigrations: lockMySQLMigrations,
}

// mysqlDSN adds the connection settings the store relies on.
func mysqlDSN(dsn string) (string, error) {
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	c.ParseTime = true
	c.Loc = time.UTC
	// RowsAffected counts matched rows, so an UPDATE that changes nothing
	// is still "found".
	c.ClientFoundRows = true
	// One round trip per statement instead of prepare/execute/close.
	c.InterpolateParams = true
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Collation == "" {
		c.Collation = "utf8mb4_bin"
	}
	return c.FormatDSN(), nil
}

func openMySQL(ctx context.Context, cfg Config) (*sql.DB, *sql.DB, error) {
	dsn, err := mysqlDSN(cfg.DSN)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing mysql dsn: %w", err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("opening mysql: %w", err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	// Stay under the server's wait_timeout.
	db.SetConnMaxLifetime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connecting to mysql: %w", err)
	}
	return db, db, nil
}

func upsertOnDuplicate(table, key string, cols ...string) string {
	all := append([]string{key}, cols...)
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = VALUES(" + c + ")"
	}
	return "INSERT INTO " + table + " (" + strings.Join(all, ", ") + ") VALUES (" + Placeholders(len(all)) +
		") ON DUPLICATE KEY UPDATE " + strings.Join(set, ", ")
}

func classifyMySQL(err error) Kind {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return KindOther
	}
	switch me.Number {
	case 1062: // ER_DUP_ENTRY
		return KindUnique
	case 1213, 1205, 1020: // deadlock, lock wait timeout, record changed (MariaDB snapshot isolation)
		return KindRetryable
	}
	return KindOther
}

const mysqlMigrationLock = "diego_bbs_schema_migrations"

func lockMySQLMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", mysqlMigrationLock).Scan(&got); err != nil {
		return nil, fmt.Errorf("taking migration lock: %w", err)
	}
	if got.Int64 != 1 {
		return nil, errors.New("taking migration lock: timed out after 60s")
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK(?)", mysqlMigrationLock)
	}, nil
}
