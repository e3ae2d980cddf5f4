package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// maxCachedStmts bounds a stmtCache: the store's queries are a fixed set
// (a few dozen shapes); a query beyond the bound, such as one with an
// unusually long IN list, runs unprepared.
const maxCachedStmts = 128

// stmtCache holds one pool's prepared statements, keyed by query text, so
// that a query is parsed once per connection rather than once per call.
// On SQLite, preparing was 8% of the BBS's CPU under load (every claim and
// start reads the instance's rows first). database/sql prepares a cached
// statement again on each connection it lands on, and within a
// transaction reuses the connection's.
type stmtCache struct {
	db *sql.DB

	mu        sync.Mutex
	m         map[string]*sql.Stmt // guarded by mu
	preparing map[string]bool      // background prepares under way; guarded by mu
	closed    bool                 // guarded by mu
	bg        sync.WaitGroup
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, preparing: map[string]bool{}}
}

// get returns query's prepared statement, preparing it on first use; nil
// (and no error) when the cache is full or closed: run the query
// unprepared then.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, full := c.m[query], len(c.m) >= maxCachedStmts || c.closed
	c.mu.Unlock()
	if st != nil || full {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if have := c.m[query]; have != nil || c.closed {
		_ = st.Close()
		return have, nil
	}
	c.m[query] = st
	return st, nil
}

// query runs a read on the pool.
func (c *stmtCache) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return c.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// queryRow reads one row on the pool.
func (c *stmtCache) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.get(ctx, query)
	if err != nil || st == nil {
		// an error preparing comes back from Scan, as database/sql's own
		// QueryRowContext reports it
		return c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// inTx is query's prepared statement bound to tx, or nil: run it
// unprepared. A statement not prepared yet is prepared in the background,
// for the next transaction: preparing it on the pool now would wait for a
// connection, and SQLite's writer pool has one, held by tx itself.
func (c *stmtCache) inTx(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	c.mu.Lock()
	st := c.m[query]
	start := st == nil && !c.closed && !c.preparing[query] && len(c.m)+len(c.preparing) < maxCachedStmts
	if start {
		c.preparing[query] = true
		c.bg.Add(1)
	}
	c.mu.Unlock()
	if start {
		go c.prepare(query)
	}
	if st == nil {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// prepare prepares query for the cache (see inTx).
func (c *stmtCache) prepare(query string) {
	defer c.bg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := c.db.PrepareContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.preparing, query)
	if err != nil {
		return // the query runs unprepared, and reports its error, as before
	}
	if c.closed || c.m[query] != nil {
		_ = st.Close()
		return
	}
	c.m[query] = st
}

// close closes every statement; later calls run unprepared. It waits for
// background prepares (each bounded), so call it before closing the pool.
func (c *stmtCache) close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.bg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}
