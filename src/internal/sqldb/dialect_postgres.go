package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
)

// PostgreSQL runs at READ COMMITTED; rows read through a Tx are locked with
// SELECT ... FOR UPDATE.
var postgresDialect = &Dialect{
	Name:           DriverPostgres,
	dollar:         true,
	ForUpdate:      " FOR UPDATE",
	InsertSuffix:   " ON CONFLICT DO NOTHING",
	Upsert:         upsertOnConflict,
	Classify:       classifyPostgres,
	open:           openPostgres,
	lockMigrations: lockPostgresMigrations,
	RawRows:        pgxRawRows,
}

func openPostgres(ctx context.Context, cfg Config) (*sql.DB, *sql.DB, error) {
	db, err := sql.Open("pgx", cfg.DSN)
	if err != nil {
		return nil, nil, fmt.Errorf("opening postgres: %w", err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	return db, db, nil
}

func classifyPostgres(err error) Kind {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return KindOther
	}
	switch pe.Code {
	case "23505": // unique_violation
		return KindUnique
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return KindRetryable
	}
	return KindOther
}

// migrationLockKey is an arbitrary advisory-lock key for schema migrations.
const migrationLockKey = 0x0d1e60bb5

func lockPostgresMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return nil, fmt.Errorf("taking migration lock: %w", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLockKey)
	}, nil
}

// pgxRawRows streams a one-column bytea query through pgx directly: the
// values are handed over straight from pgx's read buffer, skipping the copy
// and boxing database/sql does per row (a third of the per-row cost when
// listing hundreds of thousands of rows).
func pgxRawRows(ctx context.Context, db *sql.DB, query string, args []any, row func([]byte) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		sc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected postgres driver connection %T", driverConn)
		}
		// Binary result format: a bytea value arrives as its raw bytes.
		qargs := append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)
		rows, err := sc.Conn().Query(ctx, query, qargs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		// Under simple_protocol (set in the DSN) results come back as text;
		// let pgx decode the hex then.
		binary := len(rows.FieldDescriptions()) == 1 && rows.FieldDescriptions()[0].Format == pgx.BinaryFormatCode
		var decoded []byte
		for rows.Next() {
			value := rows.RawValues()[0]
			if !binary {
				if err := rows.Scan(&decoded); err != nil {
					return err
				}
				value = decoded
			}
			if err := row(value); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
