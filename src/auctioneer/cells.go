package auctioneer

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	lmodels "code.cloudfoundry.org/locket/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/locket"
)

// CellLister lists the cells that are alive.
type CellLister interface {
	Cells(ctx context.Context) ([]*models.CellPresence, error)
}

// LocketCells lists cells from their Locket presences.
type LocketCells struct {
	Client locket.Client
	Logger *slog.Logger
}

// Cells fetches every presence and decodes its value, skipping (and
// logging) any that is not a cell presence.
func (l LocketCells) Cells(ctx context.Context) ([]*models.CellPresence, error) {
	resp, err := l.Client.FetchAll(ctx, &lmodels.FetchAllRequest{Type: lmodels.PresenceType, TypeCode: lmodels.PRESENCE})
	if err != nil {
		return nil, fmt.Errorf("fetching cell presences from locket: %w", err)
	}
	cells := make([]*models.CellPresence, 0, len(resp.Resources))
	for _, r := range resp.Resources {
		var c models.CellPresence
		if err := json.Unmarshal([]byte(r.Value), &c); err != nil || c.CellId == "" {
			if l.Logger != nil {
				l.Logger.Warn("skipping unreadable cell presence", "key", r.Key, "error", err)
			}
			continue
		}
		cells = append(cells, &c)
	}
	return cells, nil
}

// RepClientConfig says how to reach reps.
type RepClientConfig struct {
	// TLS names the CA and client certificate files; RequireTLS makes
	// every cell need an https rep_url. ClientCacheSize (TLS sessions kept
	// for resumption) defaults to 4096, enough for every cell.
	TLS rep.TLSConfig
	// StateTimeout bounds each GET /state (default 10 s); WorkTimeout each
	// POST /work (default 10 s).
	StateTimeout, WorkTimeout time.Duration
}

// NewRepClientFactory builds the reference rep client factory over one
// connection pool that keeps a connection open to every cell between rounds
// (idle connections close after 5 minutes). The factory also lends the
// runner its state client, to fetch states conditionally (see
// fetchState).
func NewRepClientFactory(cfg RepClientConfig) (rep.ClientFactory, error) {
	if cfg.StateTimeout <= 0 {
		cfg.StateTimeout = 10 * time.Second
	}
	if cfg.WorkTimeout <= 0 {
		cfg.WorkTimeout = 10 * time.Second
	}
	if cfg.TLS.ClientCacheSize == 0 {
		cfg.TLS.ClientCacheSize = 4096
	}
	// State and work requests share one pool (and so one connection per
	// cell, kept between rounds); only their timeouts differ.
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        0, // no limit across cells
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     5 * time.Minute,
	}
	newClient := func(timeout time.Duration) *http.Client { return &http.Client{Timeout: timeout, Transport: tr} }
	states := newClient(cfg.StateTimeout)
	f, err := rep.NewClientFactory(newClient(cfg.WorkTimeout), states, &cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("rep client: %w", err)
	}
	// rep.NewClientFactory has set the shared transport's TLS config.
	return repClientFactory{f, states}, nil
}

// repClientFactory is the reference factory with the HTTP client its
// clients fetch states with.
type repClientFactory struct {
	rep.ClientFactory
	states *http.Client
}

func (f repClientFactory) StateHTTPClient() *http.Client { return f.states }

// cellClients caches one rep client per (cell, address), and each cell's
// last state with its ETag.
type cellClients struct {
	factory rep.ClientFactory
	// states, if set, fetches states conditionally (fetchState).
	states *http.Client
	mu     sync.Mutex
	byCell map[string]cachedClient // guarded by mu
}

type cachedClient struct {
	addr, url string
	client    rep.Client
	// etag and state are the cell's last state, if it came with an ETag.
	etag  string
	state rep.CellState
	// lrps are the LRPs decoded from the cell's last state (decodeState).
	lrps *lrpCache
}

// serves reports whether cc was made for p's addresses.
func (cc cachedClient) serves(p *models.CellPresence) bool {
	return cc.addr == p.RepAddress && cc.url == p.RepUrl
}

func (c *cellClients) get(p *models.CellPresence) (rep.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc, ok := c.byCell[p.CellId]; ok && cc.serves(p) {
		return cc.client, nil
	}
	cl, err := c.factory.CreateClient(p.RepAddress, p.RepUrl, "")
	if err != nil {
		return nil, fmt.Errorf("cell %s: %w", p.CellId, err)
	}
	c.byCell[p.CellId] = cachedClient{addr: p.RepAddress, url: p.RepUrl, client: cl}
	return cl, nil
}

// forget drops clients of cells no longer present.
func (c *cellClients) forget(present map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	maps.DeleteFunc(c.byCell, func(id string, _ cachedClient) bool { return !present[id] })
}

// liveCell is a cell whose state this round fetched.
type liveCell struct {
	presence *models.CellPresence
	client   rep.Client
	state    rep.CellState
}

// fetchResult is what fetching states found.
type fetchResult struct {
	cells       map[string]*liveCell // by cell id, evacuating cells excluded
	states      []rep.CellState
	unreachable int
	evacuating  int
}

// fetchStates asks every cell for its state, at most workers at a time.
func (r *Runner) fetchStates(ctx context.Context, presences []*models.CellPresence) fetchResult {
	res := fetchResult{cells: make(map[string]*liveCell, len(presences))}
	var mu sync.Mutex
	present := make(map[string]bool, len(presences))
	for _, p := range presences {
		present[p.CellId] = true
	}
	r.clients.forget(present)
	forEach(ctx, len(presences), r.cfg.Workers, func(i int) {
		p := presences[i]
		cl, err := r.clients.get(p)
		var (
			st        rep.CellState
			unchanged bool
		)
		if err == nil {
			st, unchanged, err = r.clients.fetchState(ctx, p, cl)
		}
		if unchanged {
			r.metrics.CellStatesUnchanged.Inc()
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			res.unreachable++
			r.metrics.CellStateFailures.Inc()
			r.log.Warn("failed to fetch cell state", "cell_id", p.CellId, "error", err)
		case st.Evacuating:
			res.evacuating++
		default:
			if st.CellID == "" {
				st.CellID = p.CellId
			}
			if st.CellID != p.CellId {
				res.unreachable++
				r.log.Warn("cell state names another cell; skipping", "cell_id", p.CellId, "state_cell_id", st.CellID)
				return
			}
			res.cells[p.CellId] = &liveCell{presence: p, client: cl, state: st}
		}
	})
	res.states = make([]rep.CellState, 0, len(res.cells))
	for _, p := range presences { // presence order, so a seeded decision replays
		if c, ok := res.cells[p.CellId]; ok {
			res.states = append(res.states, c.state)
		}
	}
	return res
}

// Warm lists the cells and fetches their states without placing anything,
// so that the first round after taking the lock finds a connection open to
// every cell instead of paying for all the TLS handshakes at once. It
// reports like a round (Warmup set, nothing placed).
func (r *Runner) Warm(ctx context.Context) RoundReport {
	rr := RoundReport{Start: time.Now(), Warmup: true}
	lctx, cancel := context.WithTimeout(ctx, cellListTimeout)
	presences, err := r.cfg.Cells.Cells(lctx)
	cancel()
	if err != nil {
		rr.Err = err
		r.log.Warn("warming connections to cells: cells not listed", "error", err)
	} else {
		f := r.fetchStates(ctx, presences)
		rr.Cells, rr.CellsUnreachable, rr.CellsEvacuating = len(presences), f.unreachable, f.evacuating
		rr.CellsFetched = len(presences) - f.unreachable
		rr.FetchStates = time.Since(rr.Start)
		r.log.Info("connections to cells warmed", "cells", rr.Cells, "unreachable", rr.CellsUnreachable, "took", rr.FetchStates)
	}
	rr.Total = time.Since(rr.Start)
	if r.cfg.OnRound != nil {
		r.cfg.OnRound(rr)
	}
	return rr
}

// forEach calls fn(0..n-1) on at most workers goroutines and waits.
func forEach(ctx context.Context, n, workers int, fn func(i int)) {
	if workers <= 0 || workers > n {
		workers = n
	}
	next := make(chan int)
	var wg sync.WaitGroup
	wg.Add(workers)
	for range workers {
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// discardLager satisfies the reference clients, which take a lager logger.
var discardLager = lager.NewLogger("auctioneer")
