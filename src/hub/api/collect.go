package api

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	locketmodels "code.cloudfoundry.org/locket/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/hub/view"
	"github.com/diego-go/diego/src/internal/serve"
)

// stream is one BBS event stream the Hub follows.
type stream struct {
	name      string
	subscribe func() (events.EventSource, error)
	what      []string // the views its events change
}

func (h *Hub) streams() []stream {
	return []stream{
		{"instances", func() (events.EventSource, error) { return h.o.BBS.SubscribeToInstanceEvents(quiet) }, []string{"apps", "cells"}},
		{"tasks", func() (events.EventSource, error) { return h.o.BBS.SubscribeToTaskEvents(quiet) }, []string{"tasks"}},
	}
}

// follow reads one event stream, subscribing again (after a pause of one
// to five seconds) whenever it ends.
func (h *Hub) follow(ctx context.Context, s stream) {
	pause := time.Second
	for ctx.Err() == nil {
		src, err := s.subscribe()
		if err != nil {
			h.o.Log.Warn("hub.subscribe-failed", "stream", s.name, "err", err)
			if !serve.Sleep(ctx, pause) {
				return
			}
			pause = min(2*pause, 5*time.Second)
			continue
		}
		pause = time.Second
		h.markDirty() // events may have been missed while unsubscribed
		stop := context.AfterFunc(ctx, func() { src.Close() })
		for {
			ev, err := src.Next()
			if err != nil {
				if ctx.Err() == nil {
					h.o.Log.Info("hub.stream-ended", "stream", s.name, "err", err)
				}
				break
			}
			h.addItems(view.FromEvent(ev, h.o.Now().UTC()))
			h.markDirty()
		}
		stop()
		src.Close()
		if !serve.Sleep(ctx, pause) {
			return
		}
	}
}

// heartbeat sends an SSE comment every 15 seconds.
func (h *Hub) heartbeat(ctx context.Context) {
	serve.Every(ctx, 15*time.Second, func(time.Time) { h.bus.comment("heartbeat") })
}

// collect reads everything now, then re-reads the BBS lists after events
// (at most once per Refresh) and everything else every PollInterval.
func (h *Hub) collect(ctx context.Context) {
	h.poll(ctx)
	last := time.Now()
	tick := time.NewTicker(h.o.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			h.poll(ctx)
			last = time.Now()
		case <-h.pollNow:
			// After an action, but never sooner than MinPoll after the
			// last poll (the ticker catches up otherwise).
			if time.Since(last) >= MinPoll {
				h.poll(ctx)
				last = time.Now()
			}
		case <-h.dirty:
			if !serve.Sleep(ctx, h.o.Refresh) {
				return
			}
			h.readBBS(ctx)
			h.rebuild("apps", "tasks", "cells")
		}
	}
}

// poll reads the BBS lists, the cells, Locket, the metrics and the
// rotation status, then rebuilds the views.
func (h *Hub) poll(ctx context.Context) {
	h.readBBS(ctx)
	h.readCells(ctx)
	h.readSystem(ctx)
	h.readRotation(ctx)
	h.rebuild("apps", "tasks", "cells", "system", "rotation")
}

// MinPoll is the least time between two polls of the cells, Locket,
// metrics and the rotation.
const MinPoll = 5 * time.Second

// requestTimeout bounds each read of a poll.
const requestTimeout = 10 * time.Second

func (h *Hub) readBBS(ctx context.Context) {
	desired, err1 := h.o.BBS.DesiredLRPs(quiet, "", models.DesiredLRPFilter{})
	actual, err2 := h.o.BBS.ActualLRPs(quiet, "", models.ActualLRPFilter{})
	tasks, err3 := h.o.BBS.Tasks(quiet, "")
	err := errors.Join(err1, err2, err3)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bbsErr = err
	if err != nil {
		h.o.Log.Warn("hub.bbs-read-failed", "err", err)
		return
	}
	h.in.Desired, h.in.Actual, h.in.Tasks = desired, actual, tasks
}

// readCells reads the presences and each rep's state, noting cells that
// appeared or were lost.
func (h *Hub) readCells(ctx context.Context) {
	presences, err := h.o.BBS.Cells(quiet, "")
	if err != nil {
		h.o.Log.Warn("hub.cells-read-failed", "err", err)
		return
	}
	states := map[string]rep.CellState{}
	stateErrs := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range presences {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := h.cellState(p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				stateErrs[p.CellId] = err.Error()
				return
			}
			states[p.CellId] = s
		}()
	}
	wg.Wait()
	now := map[string]bool{}
	for _, p := range presences {
		now[p.CellId] = true
	}
	h.mu.Lock()
	before := h.present
	h.present = now
	h.in.Presences, h.in.States, h.in.StateErrors = presences, states, stateErrs
	h.mu.Unlock()
	if before != nil {
		h.addItems(view.CellChanges(before, now, h.o.Now().UTC()))
	}
}

func (h *Hub) cellState(p *models.CellPresence) (rep.CellState, error) {
	if h.o.Reps == nil {
		return rep.CellState{}, errors.New("no rep client")
	}
	c, err := h.o.Reps.CreateClient(p.RepAddress, p.RepUrl, "")
	if err != nil {
		return rep.CellState{}, fmt.Errorf("rep client: %w", err)
	}
	return c.State(quiet)
}

// rebuild makes a new view from the input and tells the stream what
// changed.
func (h *Hub) rebuild(what ...string) {
	h.mu.Lock()
	h.in.Known = view.KnownCells(h.in)
	h.in.Now = h.o.Now()
	v := view.Build(h.in)
	h.mu.Unlock()
	h.view.Store(v)
	h.bus.publish("changed", map[string][]string{"what": what})
}

// fetchLocks returns Locket's locks and the number of presences.
func (h *Hub) fetchLocks(ctx context.Context) ([]view.Lock, int, error) {
	if h.o.Locket == nil {
		return []view.Lock{}, 0, errors.New("no locket_address configured")
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	locks, err := h.o.Locket.FetchAll(ctx, &locketmodels.FetchAllRequest{Type: locketmodels.LockType, TypeCode: locketmodels.LOCK})
	if err != nil {
		return []view.Lock{}, 0, fmt.Errorf("locket locks: %w", err)
	}
	pres, err := h.o.Locket.FetchAll(ctx, &locketmodels.FetchAllRequest{Type: locketmodels.PresenceType, TypeCode: locketmodels.PRESENCE})
	if err != nil {
		return nil, 0, fmt.Errorf("locket presences: %w", err)
	}
	out := []view.Lock{}
	for _, r := range locks.Resources {
		out = append(out, view.Lock{Key: r.Key, Owner: r.Owner, Type: r.Type})
	}
	return out, len(pres.Resources), nil
}
