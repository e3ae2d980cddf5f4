// Package api serves Diego Hub's JSON API and live event stream over the
// views it keeps up to date from the BBS, Locket, the reps and metrics.
package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/hub/view"
	"github.com/diego-go/diego/src/locket"
)

// quiet is the lager logger the reference clients require.
var quiet = lager.NewLogger("diego-hub")

// Options are the Hub's clients and settings.
type Options struct {
	BBS bbs.Client
	// Locket is optional: without it the locks and presences are empty.
	Locket locket.Client
	// Reps makes clients of the cells' reps (GET /state).
	Reps rep.ClientFactory
	// HTTP presents the operator's client certificate (BBS admin status,
	// metrics, the reps' local APIs).
	HTTP *http.Client
	// BBSURL is the BBS API's base URL (several comma-separated: the first
	// answering one), for the admin encryption status.
	BBSURL        string
	AuctioneerURL string
	MetricsURLs   map[string]string
	CellLocalURLs map[string]string
	LogDir        string
	// PollInterval is how often cells, locks, metrics and the rotation are
	// read (callers enforce the 5 s minimum).
	PollInterval time.Duration
	// Refresh is the least time between two re-reads of the BBS lists that
	// BBS events trigger (default 1s).
	Refresh time.Duration
	Auth    Auth
	// Audit, if set, gets one JSON line per action.
	Audit io.Writer
	Log   *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Hub keeps the views and serves them.
type Hub struct {
	o        Options
	view     atomic.Pointer[view.View]
	system   atomic.Pointer[System]
	rotation atomic.Pointer[Rotation]
	ring     *view.Ring
	bus      *bus
	dirty    chan struct{}
	pollNow  chan struct{}
	quit     chan struct{}
	quitOnce sync.Once

	// mu guards what the collector keeps between reads.
	mu      sync.Mutex
	in      view.Input
	present map[string]bool
	metrics map[string]scrape
	bbsErr  error
	auditMu sync.Mutex
}

type scrape struct {
	at     time.Time
	values map[string]float64
}

// New returns a Hub serving empty views until Run has read the BBS.
func New(o Options) *Hub {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Refresh <= 0 {
		o.Refresh = time.Second
	}
	o.PollInterval = max(o.PollInterval, MinPoll)
	h := &Hub{o: o, ring: view.NewRing(view.DefaultRingSize), bus: newBus(), dirty: make(chan struct{}, 1),
		pollNow: make(chan struct{}, 1), quit: make(chan struct{}), metrics: map[string]scrape{}}
	h.view.Store(view.Build(view.Input{Now: o.Now()}))
	h.system.Store(&System{Locks: []view.Lock{}, Components: []Component{}, UpdatedAt: o.Now().UTC()})
	h.rotation.Store(&Rotation{Keys: []RotationKey{}, Error: "not read yet"})
	return h
}

// View returns the current aggregated view.
func (h *Hub) View() *view.View { return h.view.Load() }

// Timeline returns the event ring.
func (h *Hub) Timeline() *view.Ring { return h.ring }

// SetInput replaces the views' input and rebuilds them (for tests and
// benchmarks that feed the Hub without a BBS).
func (h *Hub) SetInput(in view.Input) {
	h.mu.Lock()
	h.in = in
	h.mu.Unlock()
	h.view.Store(view.Build(in))
}

// markDirty asks the collector to re-read the BBS lists soon.
func (h *Hub) markDirty() {
	select {
	case h.dirty <- struct{}{}:
	default:
	}
}

// addItems records timeline items and pushes them to the stream.
func (h *Hub) addItems(items []view.Item) {
	for _, it := range items {
		h.ring.Add(it)
		h.bus.publish("timeline", it)
	}
}

// Run reads the BBS, Locket, the reps and metrics and follows the BBS
// event streams until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range h.streams() {
		wg.Add(1)
		go func() { defer wg.Done(); h.follow(ctx, s) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); h.heartbeat(ctx) }()
	h.collect(ctx)
	wg.Wait()
}

// Close ends the event streams being served (before a shutdown).
func (h *Hub) Close() { h.quitOnce.Do(func() { close(h.quit) }) }
