// Package simcells runs many real rep cells in one process, each with the
// sim container backend, its own listeners, Locket presence and BBS client.
package simcells

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/container/sim"
	"github.com/diego-go/diego/src/rep/daemon"
)

// Config says how many cells to run and what they join.
type Config struct {
	// Count is the number of cells; cell i is CellIDPrefix + i, in
	// Zones[i % len(Zones)].
	Count        int
	CellIDPrefix string
	Zones        []string
	// BBSAddress (https://host:port) and LocketAddress (host:port) are
	// what the cells join, with Certs throughout (daemon.Joining).
	BBSAddress    string
	LocketAddress string
	Certs         *pki.Bundle
	// Dir holds each cell's container_root_dir (never written by the sim
	// backend but for the download cache of download actions).
	Dir string
	// Sim configures every cell's backend (capacity, start delay).
	Sim sim.Config
	// Tweak, if set, adjusts each cell's settings last (sync interval,
	// placement tags, ...).
	Tweak func(i int, s *daemon.Settings)
	// StartConcurrency bounds the cells starting at once (default 16).
	StartConcurrency int
	// StopConcurrency bounds the instances each cell's Stop removes from
	// the BBS at once (default 8).
	StopConcurrency int
	// Logger receives the cells' logs (default: discarded).
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultCellIDPrefix     = "sim-cell-"
	DefaultStartConcurrency = 16
	DefaultStopConcurrency  = 8
)

// stopPoll is how often Stop looks for the instances it stopped to be gone.
const stopPoll = 20 * time.Millisecond

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.CellIDPrefix == "" {
		c.CellIDPrefix = DefaultCellIDPrefix
	}
	if len(c.Zones) == 0 {
		c.Zones = []string{"z1"}
	}
	if c.StartConcurrency <= 0 {
		c.StartConcurrency = DefaultStartConcurrency
	}
	if c.StopConcurrency <= 0 {
		c.StopConcurrency = DefaultStopConcurrency
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	if c.Count < 1 {
		errs = append(errs, fmt.Errorf("count %d must be at least 1", c.Count))
	}
	if c.BBSAddress == "" || c.LocketAddress == "" {
		errs = append(errs, errors.New("bbs_address and locket_address are required"))
	}
	if c.Certs == nil {
		errs = append(errs, errors.New("certs are required"))
	}
	if !filepath.IsAbs(c.Dir) {
		errs = append(errs, fmt.Errorf("dir %q must be absolute", c.Dir))
	}
	if err := c.Sim.WithDefaults().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("sim: %w", err))
	}
	return errors.Join(errs...)
}

// Cell is one running simulated cell.
type Cell struct {
	ID      string
	Zone    string
	Daemon  *daemon.Daemon
	Backend *sim.Backend

	stopConcurrency int
	sync            *syncWatch
	stopping        atomic.Bool
	stopOnce        sync.Once
	stopErr         error
}

// SyncedSince reports whether the cell's rep has completed a bulk sync
// (every BBS call of it answered) that started at or after t.
func (c *Cell) SyncedSince(t time.Time) bool {
	return c.sync.lastStart.Load() >= t.UnixNano()
}

// FailedSyncs counts the rep's bulk syncs that failed (the BBS did not
// answer, or refused).
func (c *Cell) FailedSyncs() uint64 { return c.sync.failed.Load() }

// Stopping reports whether Stop has been called.
func (c *Cell) Stopping() bool { return c.stopping.Load() }

// Stop stops the cell as SIGTERM stops a rep: its instances are stopped
// and removed from the BBS, StopConcurrency at a time, then the rep stops
// and its presence is released. When ctx ends first, Stop starts no more
// removals and returns at once with ctx's error: the rep, stopped with the
// ended context, ends the instances left without waiting for them (the
// BBS treats those the rep fails to remove as lost). It is idempotent: a
// second call returns the first one's result.
func (c *Cell) Stop(ctx context.Context) error {
	c.stopping.Store(true)
	c.stopOnce.Do(func() {
		// No new work while stopping, as the rep rejects it once stopping:
		// the auctioneer would place the replacements back here.
		c.Daemon.Ledger().SetEvacuating(true)
		err := c.stopInstances(ctx)
		c.stopErr = errors.Join(err, c.Daemon.Stop(ctx))
	})
	return c.stopErr
}

// stopInstances stops the cell's LRP instances through the rep, at most
// stopConcurrency at a time, until none is left or ctx ends.
func (c *Cell) stopInstances(ctx context.Context) error {
	var pending []cell.Reservation
	for _, r := range c.Daemon.Ledger().Reservations() {
		if r.Kind == cell.KindLRP {
			pending = append(pending, r)
		}
	}
	inFlight := map[string]bool{}
	tick := time.NewTicker(stopPoll)
	defer tick.Stop()
	for len(pending) > 0 || len(inFlight) > 0 {
		for len(pending) > 0 && len(inFlight) < c.stopConcurrency {
			r := pending[0]
			pending = pending[1:]
			// An instance already gone (ended on its own) is not an error.
			if err := c.Daemon.StopLRPInstance(ctx, r.LRP.ProcessGuid, r.Guid); err == nil {
				inFlight[r.Guid] = true
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cell %s: stopping its instances (%d left, %d being removed): %w", c.ID, len(pending), len(inFlight), ctx.Err())
		case <-tick.C:
		}
		for guid := range inFlight {
			if _, held := c.Daemon.Ledger().Get(cell.KindLRP, guid); !held {
				delete(inFlight, guid)
			}
		}
	}
	return nil
}

// Cells are the running cells, sharing one Locket connection.
type Cells struct {
	cfg    Config
	locket *locket.Conn
	cells  []*Cell
	byID   map[string]*Cell
}

// Start starts cfg.Count cells, each listening on free 127.0.0.1 ports, and
// returns once every one holds its presence (or the first failure, with
// the started ones stopped).
func Start(ctx context.Context, cfg Config) (*Cells, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("simcells config: %w", err)
	}
	conn, err := locket.DialFiles(cfg.LocketAddress, cfg.Certs.CACert, cfg.Certs.ClientCert, cfg.Certs.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("simcells: locket: %w", err)
	}
	cs := &Cells{cfg: cfg, locket: conn, cells: make([]*Cell, cfg.Count), byID: map[string]*Cell{}}
	sem := make(chan struct{}, cfg.StartConcurrency)
	errs := make([]error, cfg.Count)
	var wg sync.WaitGroup
	for i := range cfg.Count {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cs.cells[i], errs[i] = cs.startCell(ctx, i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = cs.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	for _, c := range cs.cells {
		cs.byID[c.ID] = c
	}
	return cs, nil
}

func (cs *Cells) startCell(ctx context.Context, i int) (*Cell, error) {
	cfg := cs.cfg
	id := fmt.Sprintf("%s%d", cfg.CellIDPrefix, i)
	zone := cfg.Zones[i%len(cfg.Zones)]
	b, err := sim.New(cfg.Sim)
	if err != nil {
		return nil, err
	}
	s := daemon.Joining(id, zone, cfg.BBSAddress, cfg.LocketAddress, cfg.Certs)
	s.ListenAddress, s.LocalAddress = "127.0.0.1:0", "127.0.0.1:0"
	s.ContainerRootDir = filepath.Join(cfg.Dir, id)
	capy := b.Config()
	s.MemoryMB, s.DiskMB, s.MaxContainers = capy.MemoryMB, capy.DiskMB, capy.MaxContainers
	if cfg.Tweak != nil {
		cfg.Tweak(i, &s)
	}
	w := &syncWatch{}
	logger := slog.New(watchHandler{inner: cfg.Logger.Handler(), w: w}).With("cell", id)
	d, err := daemon.Start(ctx, s, daemon.Options{Backend: b, LocketClient: cs.locket, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("cell %s: %w", id, err)
	}
	select {
	case <-d.PresenceHeld():
	case <-ctx.Done():
		_ = d.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("cell %s: waiting for its presence: %w", id, ctx.Err())
	}
	return &Cell{ID: id, Zone: zone, Daemon: d, Backend: b, stopConcurrency: cfg.StopConcurrency, sync: w}, nil
}

// All returns the cells in the order of their index.
func (cs *Cells) All() []*Cell { return cs.cells }

// Cell returns the cell named id, or nil.
func (cs *Cells) Cell(id string) *Cell { return cs.byID[id] }

// Locate returns the cell whose backend has a container named handle (an
// LRP's instance guid or a task guid), or nil.
func (cs *Cells) Locate(handle string) *Cell {
	for _, c := range cs.cells {
		if _, err := c.Backend.Lookup(context.Background(), handle); err == nil {
			return c
		}
	}
	return nil
}

// Crash crashes the container named handle wherever it runs.
func (cs *Cells) Crash(handle string) error {
	c := cs.Locate(handle)
	if c == nil {
		return fmt.Errorf("simcells: no cell runs %s", handle)
	}
	return c.Backend.Crash(handle)
}

// Stop stops every cell, then the shared Locket connection.
func (cs *Cells) Stop(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cs.cells))
	for i, c := range cs.cells {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Stop(ctx)
		}()
	}
	wg.Wait()
	errs = append(errs, cs.locket.Close())
	return errors.Join(errs...)
}

// Handler serves POST /crash/{handle}: the bench harness's way to crash an
// instance from outside the process (204, or 404 when no cell runs it).
func (cs *Cells) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /crash/{handle}", func(w http.ResponseWriter, r *http.Request) {
		if err := cs.Crash(r.PathValue("handle")); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}
