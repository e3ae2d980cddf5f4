// Package daemon runs the route emitter: a watcher keeps its routing table in step with the BBS (event stream and bulk sync) and emits every change on NATS, in global mode only while it holds the route_emitter Locket lock.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/routeemitter/table"
)

// Emitter sends the table's messages (natsemitter.Emitter in production).
type Emitter interface {
	Emit(table.Messages) error
}

// WatcherConfig tunes the watcher; zero values take the defaults.
type WatcherConfig struct {
	// SyncInterval is how often the whole table is rebuilt from the BBS (default 60s, the reference's sync_interval).
	SyncInterval time.Duration
	// CellID, when set, is local mode: only that cell's instances are
	// watched and routed (the reference's cell_id).
	CellID string
	// Table holds the table's options (direct instance routes).
	Table table.Options
}

// Validate rejects settings that cannot work.
func (c WatcherConfig) Validate() error {
	if c.SyncInterval < 0 {
		return fmt.Errorf("routeemitter: SyncInterval %s must not be negative", c.SyncInterval)
	}
	return nil
}

// Watcher applies BBS events and bulk syncs to one table.
type Watcher struct {
	client  bbs.Client
	emitter Emitter
	cfg     WatcherConfig
	log     *slog.Logger
	lager   lager.Logger

	mu    sync.Mutex
	table *table.Table
}

// New returns a watcher over client that emits through emitter.
func New(client bbs.Client, emitter Emitter, cfg WatcherConfig, log *slog.Logger) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	return &Watcher{client: client, emitter: emitter, cfg: cfg, log: log,
		lager: lager.NewLogger("route-emitter"), table: table.NewWithOptions(cfg.Table)}, nil
}

// Registrations returns every registration the table holds (for the
// periodic re-registration); safe to call while Run is running.
func (w *Watcher) Registrations() []table.RegistryMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.table.Registrations()
}

// InternalRegistrations returns every internal registration the table
// holds (for the service-discovery re-registration).
func (w *Watcher) InternalRegistrations() []table.RegistryMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.table.InternalRegistrations()
}

// Snapshot lists the table's external and internal registrations.
func (w *Watcher) Snapshot() (external, internal []table.Entry) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.table.Snapshot()
}

// Run subscribes to the BBS's instance events, syncs in bulk, then applies
// every event and re-syncs every SyncInterval until ctx ends. A broken
// event stream is resubscribed, followed by a sync.
func (w *Watcher) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		src, err := w.client.SubscribeToInstanceEventsByCellID(w.lager, w.cfg.CellID)
		if err != nil {
			w.log.Error("route-emitter: subscribing to BBS events failed; retrying", "err", err)
			if !serve.Sleep(ctx, time.Second) {
				break
			}
			continue
		}
		w.watch(ctx, src)
	}
	return nil
}

func (w *Watcher) watch(ctx context.Context, src events.EventSource) {
	evs := make(chan models.Event)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := src.Next()
			if err != nil {
				if ctx.Err() == nil {
					w.log.Error("route-emitter: BBS event stream ended; resubscribing", "err", err)
				}
				return
			}
			select {
			case evs <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() { _ = src.Close(); <-done }()

	// A bulk sync fetches in the background while events keep being
	// applied (and emitted) at once; the events applied meanwhile are
	// replayed over the fetched table before it replaces the current one,
	// so the swap emits only what the events did not already say.
	var (
		syncing  bool
		buffered []models.Event
		results  = make(chan syncResult, 1)
	)
	startSync := func() {
		if syncing {
			return
		}
		syncing, buffered = true, nil
		go func() {
			start := time.Now()
			t, err := w.fetch()
			results <- syncResult{t, err, time.Since(start)}
		}()
	}
	startSync()
	ticker := time.NewTicker(w.cfg.SyncInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-ticker.C:
			startSync()
		case ev := <-evs:
			replay := w.apply(ev)
			if syncing {
				buffered = append(buffered, replay...)
			}
		case res := <-results:
			syncing = false
			w.finishSync(res, buffered)
			buffered = nil
		}
	}
}

type syncResult struct {
	table *table.Table
	err   error
	took  time.Duration
}

// finishSync replays the events applied during the fetch over the fetched
// table, swaps it in and emits the difference.
func (w *Watcher) finishSync(res syncResult, replay []models.Event) {
	if res.err != nil {
		w.log.Error("route-emitter: bulk sync failed; keeping the table", "err", res.err)
		return
	}
	start := time.Now()
	for _, ev := range replay {
		applyTo(res.table, ev)
	}
	w.mu.Lock()
	m := w.table.Swap(res.table)
	w.mu.Unlock()
	w.emit(m)
	w.log.Info("route-emitter: bulk sync done", "fetch", res.took, "swap", time.Since(start), "replayed", len(replay),
		"registered", len(m.Registrations), "unregistered", len(m.Unregistrations))
}

// fetch lists what the table is built from: every desired LRP and actual
// LRP, or in local mode the cell's actual LRPs and their desired LRPs.
func (w *Watcher) fetch() (*table.Table, error) {
	actual, err := w.client.ActualLRPs(w.lager, "", models.ActualLRPFilter{CellID: w.cfg.CellID})
	if err != nil {
		return nil, fmt.Errorf("listing actual LRPs: %w", err)
	}
	filter := models.DesiredLRPFilter{}
	if w.cfg.CellID != "" {
		seen := map[string]bool{}
		for _, a := range actual {
			if !seen[a.ProcessGuid] {
				seen[a.ProcessGuid] = true
				filter.ProcessGuids = append(filter.ProcessGuids, a.ProcessGuid)
			}
		}
	}
	var desired []*models.DesiredLRP
	if w.cfg.CellID == "" || len(filter.ProcessGuids) > 0 {
		if desired, err = w.client.DesiredLRPs(w.lager, "", filter); err != nil {
			return nil, fmt.Errorf("listing desired LRPs: %w", err)
		}
	}
	fresh := table.New()
	for _, d := range desired {
		fresh.SetDesired(d)
	}
	for _, a := range actual {
		fresh.SetActual(a)
	}
	return fresh, nil
}

// apply applies one event to the table and emits its messages. It returns
// the events to replay over a table being fetched meanwhile: the event, and
// before it the desired LRP fetched for it (local mode).
func (w *Watcher) apply(ev models.Event) []models.Event {
	replay := []models.Event{ev}
	if d := w.fetchDesiredFor(ev); d != nil {
		replay = []models.Event{&models.DesiredLRPCreatedEvent{DesiredLrp: d}, ev}
	}
	w.mu.Lock()
	m := applyTo(w.table, ev)
	w.mu.Unlock()
	w.log.Debug("route-emitter: event", "type", ev.EventType(), "key", ev.Key(), "registered", len(m.Registrations),
		"unregistered", len(m.Unregistrations), "internal_registered", len(m.InternalRegistrations), "internal_unregistered", len(m.InternalUnregistrations))
	w.emit(m)
	return replay
}

// applyTo applies one event to t and returns the messages it causes.
func applyTo(t *table.Table, ev models.Event) table.Messages {
	switch e := ev.(type) {
	case *models.DesiredLRPCreatedEvent:
		return t.SetDesired(e.DesiredLrp)
	case *models.DesiredLRPChangedEvent:
		return t.SetDesired(e.After)
	case *models.DesiredLRPRemovedEvent:
		return t.RemoveDesired(e.DesiredLrp.ProcessGuid)
	case *models.ActualLRPInstanceCreatedEvent:
		return t.SetActual(e.ActualLrp)
	case *models.ActualLRPInstanceChangedEvent:
		return t.SetActual(e.After.ToActualLRP(e.ActualLRPKey, e.ActualLRPInstanceKey))
	case *models.ActualLRPInstanceRemovedEvent:
		return t.RemoveActual(e.ActualLrp)
	}
	return table.Messages{}
}

// fetchDesiredFor, in local mode, fetches the desired LRP of an instance
// event's process when the table does not hold it (its instances came to
// this cell after the last sync), as the reference's RefreshDesired.
func (w *Watcher) fetchDesiredFor(ev models.Event) *models.DesiredLRP {
	if w.cfg.CellID == "" {
		return nil
	}
	var guid string
	switch e := ev.(type) {
	case *models.ActualLRPInstanceCreatedEvent:
		guid = e.ActualLrp.ProcessGuid
	case *models.ActualLRPInstanceChangedEvent:
		if e.After == nil || e.After.State != models.ActualLRPStateRunning {
			return nil
		}
		guid = e.ProcessGuid
	default:
		return nil
	}
	w.mu.Lock()
	known := w.table.HasDesired(guid)
	w.mu.Unlock()
	if known {
		return nil
	}
	d, err := w.client.DesiredLRPByProcessGuid(w.lager, "", guid)
	if err != nil {
		w.log.Error("route-emitter: fetching the desired LRP of an instance on this cell failed; the next sync routes it", "process_guid", guid, "err", err)
		return nil
	}
	var m table.Messages
	w.mu.Lock()
	if !w.table.HasDesired(guid) { // a desired event may have won meanwhile
		m = w.table.SetDesired(d)
	}
	w.mu.Unlock()
	w.emit(m)
	return d
}

func (w *Watcher) emit(m table.Messages) {
	if m.Empty() {
		return
	}
	if err := w.emitter.Emit(m); err != nil {
		w.log.Error("route-emitter: emitting failed; the next re-registration repeats it", "err", err)
	}
}
