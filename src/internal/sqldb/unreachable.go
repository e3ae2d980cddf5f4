package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Start-up retry backoff: the first wait and its cap.
const (
	UnreachableFirstDelay = 500 * time.Millisecond
	UnreachableMaxDelay   = 5 * time.Second
)

// Unreachable reports whether err means the database server could not be
// reached (connection refused or reset, timeout, name not resolved, server
// still starting up) rather than a refusal that retrying cannot fix (bad
// credentials, unknown database, failed migration, bad configuration).
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) { // the server answered: only "not now" is transient
		return pe.Code == "57P03" || strings.HasPrefix(pe.Code, "08")
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return false
	}
	var ne net.Error // *net.OpError, *net.DNSError, timeouts
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || pgconn.Timeout(err)
}

// RetryUnreachable calls open until it succeeds, fails with an error that
// Unreachable rejects (returned at once), or ctx ends (ctx's error is
// returned, joined with the last failure). Between attempts it waits
// UnreachableFirstDelay doubling to UnreachableMaxDelay and logs one line
// per failed attempt. what names the database in the log ("postgres").
func RetryUnreachable(ctx context.Context, log *slog.Logger, what string, open func(context.Context) error) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	delay := UnreachableFirstDelay
	for attempt := 1; ; attempt++ {
		err := open(ctx)
		if err == nil {
			if attempt > 1 {
				log.Info("database reachable", "database", what, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(context.Cause(ctx), err)
		}
		if !Unreachable(err) {
			return err
		}
		log.Warn("database unreachable at start; retrying", "database", what, "attempt", attempt, "retry_in", delay, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(context.Cause(ctx), err)
		case <-t.C:
		}
		delay = min(2*delay, UnreachableMaxDelay)
	}
}
