package sqldb

import (
	"context"
	"fmt"
	"time"
)

// SQLiteCheckpointInterval is how often an open SQLite database copies its
// write-ahead log into the database file and truncates it.
//
// SQLite's own checkpoints (after each commit once the log passes 1,000
// pages) copy the log but cannot start it over while any reader still
// reads from it, and with many concurrent readers one always does: at
// 160,000 instances on 1,200 simulated cells the log had grown to 3.1 GB,
// and every write appended to it.
var SQLiteCheckpointInterval = 10 * time.Second

// checkpointBusyTimeout is how long a Checkpoint waits for readers still
// in the log (new writes wait meanwhile); the sqliteCommon busy_timeout is
// restored after.
const (
	checkpointBusyTimeout = 250 * time.Millisecond
	sqliteBusyTimeout     = 10 * time.Second
)

// CheckpointResult is what PRAGMA wal_checkpoint reports: Busy when a
// reader or writer kept it from finishing (it then copied what it could),
// Log the frames the log held, Copied those now in the database file.
type CheckpointResult struct {
	Busy        bool
	Log, Copied int
}

// Checkpoint copies SQLite's write-ahead log into the database file and
// truncates the log to nothing, waiting at most checkpointBusyTimeout for
// readers to move off it (it reports Busy, not an error, when they do not).
// It runs on the writer connection, so writes queue behind it. Other
// databases have nothing to do.
func (db *DB) Checkpoint(ctx context.Context) (CheckpointResult, error) {
	if db.Dialect.Name != DriverSQLite {
		return CheckpointResult{}, nil
	}
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return CheckpointResult{}, fmt.Errorf("checkpoint: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", checkpointBusyTimeout.Milliseconds())); err != nil {
		return CheckpointResult{}, fmt.Errorf("checkpoint: %w", err)
	}
	defer conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA busy_timeout = %d", sqliteBusyTimeout.Milliseconds())) //nolint:errcheck // the connection is returned either way
	var busy int
	var res CheckpointResult
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &res.Log, &res.Copied); err != nil {
		return CheckpointResult{}, fmt.Errorf("checkpoint: %w", err)
	}
	res.Busy = busy != 0
	return res, nil
}

// checkpoints runs Checkpoint every interval until stop closes.
func (db *DB) checkpoints(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	stopped, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	go func() { <-stop; cancelAll() }()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(stopped, interval)
		start := time.Now()
		res, err := db.Checkpoint(ctx)
		cancel()
		switch {
		case err != nil:
			db.Log.Warn("sqlite checkpoint failed", "error", err)
		case res.Busy:
			db.Log.Debug("sqlite checkpoint kept from truncating the log by readers; retrying next interval", "log_frames", res.Log, "copied", res.Copied, "took", time.Since(start))
		default:
			db.Log.Debug("sqlite checkpoint", "log_frames", res.Log, "took", time.Since(start))
		}
	}
}
