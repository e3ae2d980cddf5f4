package sqldb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestUnreachable: network failures and "server starting" are transient;
// errors the server answered with (credentials, unknown database) are not.
func TestUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("connecting: %w", refused), true},
		{&net.DNSError{Err: "no such host", Name: "db", IsNotFound: true}, true},
		{&pgconn.PgError{Code: "57P03"}, true},  // the database system is starting up
		{&pgconn.PgError{Code: "28P01"}, false}, // invalid password
		{&pgconn.PgError{Code: "3D000"}, false}, // unknown database
		{&mysql.MySQLError{Number: 1045}, false},
		{errors.New("migration 3 failed"), false},
		{nil, false},
	} {
		if got := Unreachable(c.err); got != c.want {
			t.Errorf("Unreachable(%v) = %v; want %v", c.err, got, c.want)
		}
	}
}

// TestRetryUnreachableStopsWithItsContext: a database that never comes
// back is retried until the context ends, and the last failure is kept.
func TestRetryUnreachableStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	attempts := 0
	err := RetryUnreachable(ctx, nil, "postgres", func(context.Context) error {
		if attempts++; attempts == 2 {
			cancel()
		}
		return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, syscall.ECONNREFUSED) || attempts != 2 {
		t.Fatalf("after %d attempts: %v; want context canceled joined with connection refused after 2", attempts, err)
	}
}
