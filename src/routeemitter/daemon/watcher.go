// Package daemon keeps the route emitter's table in step with the BBS, from
// its event stream and a periodic bulk sync, and emits every change.
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

// Config tunes the watcher; zero values take the defaults.
type Config struct {
	// SyncInterval is how often the whole table is rebuilt from the BBS (default 60s, the reference's sync_interval).
	SyncInterval time.Duration
}

// Validate rejects settings that cannot work.
func (c Config) Validate() error {
	if c.SyncInterval < 0 {
		return fmt.Errorf("routeemitter: SyncInterval %s must not be negative", c.SyncInterval)
	}
	return nil
}

// Watcher applies BBS events and bulk syncs to one table.
type Watcher struct {
	client  bbs.Client
	emitter Emitter
	cfg     Config
	log     *slog.Logger
	lager   lager.Logger

	mu    sync.Mutex
	table *table.Table
}

// New returns a watcher over client that emits through emitter.
func New(client bbs.Client, emitter Emitter, cfg Config, log *slog.Logger) (*Watcher, error) {
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
		lager: lager.NewLogger("route-emitter"), table: table.New()}, nil
}

// Registrations returns every registration the table holds (for the
// periodic re-registration); safe to call while Run is running.
func (w *Watcher) Registrations() []table.RegistryMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.table.Registrations()
}

// Run subscribes to the BBS's instance events, syncs in bulk, then applies
// every event and re-syncs every SyncInterval until ctx ends. A broken
// event stream is resubscribed, followed by a sync.
func (w *Watcher) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		src, err := w.client.SubscribeToInstanceEvents(w.lager)
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
	w.sync()
	ticker := time.NewTicker(w.cfg.SyncInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-ticker.C:
			w.sync()
		case ev := <-evs:
			w.apply(ev)
		}
	}
}

// sync rebuilds the table from the BBS and emits the difference.
func (w *Watcher) sync() {
	fresh, err := w.fetch()
	if err != nil {
		w.log.Error("route-emitter: bulk sync failed; keeping the table", "err", err)
		return
	}
	w.mu.Lock()
	m := w.table.Swap(fresh)
	w.mu.Unlock()
	w.emit(m)
}

func (w *Watcher) fetch() (*table.Table, error) {
	desired, err := w.client.DesiredLRPs(w.lager, "", models.DesiredLRPFilter{})
	if err != nil {
		return nil, fmt.Errorf("listing desired LRPs: %w", err)
	}
	actual, err := w.client.ActualLRPs(w.lager, "", models.ActualLRPFilter{})
	if err != nil {
		return nil, fmt.Errorf("listing actual LRPs: %w", err)
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

func (w *Watcher) apply(ev models.Event) {
	w.mu.Lock()
	var m table.Messages
	switch e := ev.(type) {
	case *models.DesiredLRPCreatedEvent:
		m = w.table.SetDesired(e.DesiredLrp)
	case *models.DesiredLRPChangedEvent:
		m = w.table.SetDesired(e.After)
	case *models.DesiredLRPRemovedEvent:
		m = w.table.RemoveDesired(e.DesiredLrp.ProcessGuid)
	case *models.ActualLRPInstanceCreatedEvent:
		m = w.table.SetActual(e.ActualLrp)
	case *models.ActualLRPInstanceChangedEvent:
		m = w.table.SetActual(e.After.ToActualLRP(e.ActualLRPKey, e.ActualLRPInstanceKey))
	case *models.ActualLRPInstanceRemovedEvent:
		m = w.table.RemoveActual(e.ActualLrp)
	}
	w.mu.Unlock()
	w.emit(m)
}

func (w *Watcher) emit(m table.Messages) {
	if m.Empty() {
		return
	}
	if err := w.emitter.Emit(m); err != nil {
		w.log.Error("route-emitter: emitting failed; the next re-registration repeats it", "err", err)
	}
}
