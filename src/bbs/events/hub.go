// Package events fans BBS model events out to subscribers through bounded buffers that never block the publisher.
package events

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// DefaultBufferSize is the per-subscriber buffer used when NewHub is given
// a size <= 0.
const DefaultBufferSize = 1024

// Reasons a subscription ends, as returned by Subscription.Err, Next and ServeSSE.
var (
	// ErrDropped: the subscriber fell a whole buffer behind and was cut off.
	ErrDropped = errors.New("events: subscriber dropped: buffer full")
	// ErrClosed: Subscription.Close was called.
	ErrClosed = errors.New("events: subscription closed")
	// ErrHubClosed: Hub.Close was called.
	ErrHubClosed = errors.New("events: hub closed")
)

// Hub fans published events out to its subscribers. Publish never blocks:
// each subscriber has a bounded buffer and a subscriber whose buffer is full
// is dropped, which ends its stream; the client is expected to reconnect and
// resynchronise. Every subscriber sees events in the order they were published.
//
// The BBS runs one hub per stream (LRP instances, tasks).
type Hub struct {
	logger     *slog.Logger
	bufferSize int
	dropped    atomic.Uint64
	count      atomic.Int64 // active subscriptions; changed under mu, read without it

	mu     sync.Mutex
	closed bool                                  // guarded by mu
	nextID uint64                                // guarded by mu
	all    map[*Subscription]struct{}            // unfiltered subscribers; guarded by mu
	byCell map[string]map[*Subscription]struct{} // cell-filtered subscribers; guarded by mu
	// flat lists the subscribers as slices, for Publish to walk (a map
	// walk per event per subscriber cost more than the offers); rebuilt
	// after a subscriber comes or goes. Guarded by mu.
	flat struct {
		stale    bool
		all      []*Subscription // unfiltered
		filtered []*Subscription // every cell-filtered one
	}
}

// NewHub returns a hub whose subscribers each buffer up to bufferSize events
// (DefaultBufferSize when bufferSize <= 0). A nil logger discards.
func NewHub(bufferSize int, logger *slog.Logger) *Hub {
	if bufferSize <= 0 {
		bufferSize = DefaultBufferSize
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		logger:     logger,
		bufferSize: bufferSize,
		all:        map[*Subscription]struct{}{},
		byCell:     map[string]map[*Subscription]struct{}{},
	}
}

// Subscription is one subscriber's view of a hub. It is safe to call Close
// concurrently with Next, but Next itself must be called from one goroutine
// at a time.
type Subscription struct {
	hub    *Hub
	id     uint64
	cellID string

	// The events queued for the reader, guarded by hub.mu: Publish appends
	// to queue while holding the lock it holds anyway, where a channel per
	// subscriber took a lock of its own per event (the offers were most of
	// publishing a desired LRP event to 1,200 streams). The reader takes
	// the whole queue at once (swapping in spare) and reads it unlocked.
	queue, spare []*envelope
	waiting      bool          // the reader waits on ready; guarded by hub.mu
	ready        chan struct{} // signalled when an event is queued while the reader waits

	// The reader's own: the events it took and has not returned yet.
	taken []*envelope
	next0 int

	wake chan struct{} // signalled when the queue is half full (see linger)
	done chan struct{}
	err  error // written under hub.mu before done is closed
}

// Subscribe registers a subscriber. With cellID "" it receives every event;
// otherwise only events concerning that cell (see CellIDs). Subscribing to a
// closed hub returns a subscription that has already ended with ErrHubClosed.
func (h *Hub) Subscribe(cellID string) *Subscription {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	s := &Subscription{
		hub:    h,
		id:     h.nextID,
		cellID: cellID,
		ready:  make(chan struct{}, 1),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	if h.closed {
		s.err = ErrHubClosed
		close(s.done)
		return s
	}
	if cellID == "" {
		h.all[s] = struct{}{}
	} else {
		set := h.byCell[cellID]
		if set == nil {
			set = map[*Subscription]struct{}{}
			h.byCell[cellID] = set
		}
		set[s] = struct{}{}
	}
	h.flat.stale = true
	h.count.Add(1)
	return s
}

// flatLocked is the subscribers as slices (see Hub.flat). Called with h.mu held.
func (h *Hub) flatLocked() (all, filtered []*Subscription) {
	if h.flat.stale {
		h.flat.all = h.flat.all[:0]
		for s := range h.all {
			h.flat.all = append(h.flat.all, s)
		}
		h.flat.filtered = h.flat.filtered[:0]
		for _, set := range h.byCell {
			for s := range set {
				h.flat.filtered = append(h.flat.filtered, s)
			}
		}
		h.flat.stale = false
	}
	return h.flat.all, h.flat.filtered
}

// Publish hands e to every interested subscriber without waiting for any of
// them. Publishing to a closed hub, or a nil event, does nothing.
func (h *Hub) Publish(e models.Event) {
	if e == nil {
		return
	}
	env := &envelope{event: e}
	cells := CellIDs(e)

	var dropped []*Subscription
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	all, filtered := h.flatLocked()
	for _, s := range all {
		dropped = h.offer(s, env, dropped)
	}
	if concernsEveryCell(e) {
		for _, s := range filtered {
			dropped = h.offer(s, env, dropped)
		}
	} else {
		for _, cell := range cells {
			for s := range h.byCell[cell] {
				dropped = h.offer(s, env, dropped)
			}
		}
	}
	h.mu.Unlock()

	for _, s := range dropped {
		h.logger.Warn("dropping event subscriber: buffer full",
			"subscriber", s.id, "cell_id", s.cellID, "buffer_size", h.bufferSize,
			"event_type", e.EventType())
	}
}

// offer queues env for s, or drops s if its buffer is full. Called with h.mu held.
func (h *Hub) offer(s *Subscription, env *envelope, dropped []*Subscription) []*Subscription {
	if s.err != nil {
		return dropped // ended earlier in this Publish
	}
	if len(s.queue) >= h.bufferSize {
		h.end(s, ErrDropped)
		h.dropped.Add(1)
		return append(dropped, s)
	}
	s.queue = append(s.queue, env)
	if s.waiting {
		s.waiting = false
		signal(s.ready)
	}
	if len(s.queue) >= max(1, h.bufferSize/2) {
		signal(s.wake)
	}
	return dropped
}

// signal leaves a token in c (capacity 1) unless one is there.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// end removes s and records why it ended. Called with h.mu held; idempotent.
func (h *Hub) end(s *Subscription, reason error) {
	if s.err != nil {
		return
	}
	if s.cellID == "" {
		delete(h.all, s)
	} else if set := h.byCell[s.cellID]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.byCell, s.cellID)
		}
	}
	h.flat.stale = true
	h.count.Add(-1)
	s.err = reason
	s.queue, s.spare = nil, nil
	close(s.done)
}

// Close ends every subscription with ErrHubClosed; later Publish calls do
// nothing and later Subscribe calls return ended subscriptions.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.all {
		h.end(s, ErrHubClosed)
	}
	for _, set := range h.byCell {
		for s := range set {
			h.end(s, ErrHubClosed)
		}
	}
}

// SubscriberCount returns the number of active subscriptions.
func (h *Hub) SubscriberCount() int { return int(h.count.Load()) }

// Dropped returns how many subscribers have been dropped for falling behind.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }

// Close ends the subscription with ErrClosed (unless it already ended).
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.end(s, ErrClosed)
}

// CellID returns the cell the subscription is filtered to ("" for all).
func (s *Subscription) CellID() string { return s.cellID }

// Done is closed when the subscription ends.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err returns nil while the subscription is active and afterwards why it
// ended: ErrDropped, ErrClosed or ErrHubClosed.
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Next returns the next event, waiting for one if necessary. Once the
// subscription has ended it returns the reason (see Err); events still
// buffered at that point are discarded.
func (s *Subscription) Next(ctx context.Context) (models.Event, error) {
	env, err := s.next(ctx)
	if err != nil {
		return nil, err
	}
	return env.event, nil
}

// tryNext returns the next buffered event without waiting: nil when none
// is buffered or the subscription has ended (next then reports why).
func (s *Subscription) tryNext() *envelope {
	select {
	case <-s.done:
		return nil
	default:
	}
	if env := s.fromTaken(); env != nil {
		return env
	}
	s.take()
	return s.fromTaken()
}

// fromTaken returns the next of the events the reader took, or nil.
func (s *Subscription) fromTaken() *envelope {
	if s.next0 == len(s.taken) {
		return nil
	}
	env := s.taken[s.next0]
	s.taken[s.next0] = nil
	s.next0++
	return env
}

// take moves the queue to the reader (taken) in one swap under the hub's
// lock; with nothing queued it marks the reader waiting, so that the next
// event queued signals ready.
func (s *Subscription) take() {
	h := s.hub
	h.mu.Lock()
	if s.err == nil {
		if len(s.queue) == 0 {
			s.waiting = true
		} else {
			s.queue, s.spare = s.spare[:0], s.queue
			s.taken, s.next0 = s.spare, 0
		}
	}
	h.mu.Unlock()
}

// linger waits until stop fires, the subscription's buffer is half full,
// the subscription ends or done closes, so that the events arriving in the
// meantime are written together: without receiving them one by one, which
// woke every stream's goroutine for every event.
func (s *Subscription) linger(stop <-chan time.Time, done <-chan struct{}) {
	select {
	case <-stop:
	case <-s.wake:
	case <-s.done:
	case <-done:
	}
}

func (s *Subscription) next(ctx context.Context) (*envelope, error) {
	for {
		if env := s.tryNext(); env != nil {
			return env, nil
		}
		select {
		case <-s.done:
			return nil, s.err
		default:
		}
		select {
		case <-s.ready:
		case <-s.done:
			return nil, s.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// CellIDs returns the distinct, non-empty cell ids an event concerns; a
// subscriber filtered to one of them receives the event. Actual LRP instance
// events concern the cell of the instance key they carry (for a change
// event, the after state's key, or the before state's when the LRP was
// unclaimed); crash events the crashed instance's cell; task events the
// task's cell (before or after, for a change). Desired LRP events concern
// every cell (see concernsEveryCell). Events are told apart by the
// accessors they have (each case names its event types); any other event
// concerns no cell and reaches only unfiltered subscribers.
func CellIDs(e models.Event) []string {
	var c cellSet
	switch e := e.(type) {
	case onInstance: // instance changed, crashed
		c.add(e.GetCellId())
	case withLRP: // instance created, removed
		c.addLRP(e.GetActualLrp())
	case withTask: // task created, removed
		c.addTask(e.GetTask())
	case taskChange:
		c.addTask(e.GetBefore())
		c.addTask(e.GetAfter())
	case withGroup: // deprecated group created, removed
		c.addGroup(e.GetActualLrpGroup())
	case groupChange: // deprecated group changed
		c.addGroup(e.GetBefore())
		c.addGroup(e.GetAfter())
	}
	return c.ids
}

// The accessors by which CellIDs reads an event's cells; the event types
// having each are named at its case.
type (
	onInstance interface{ GetCellId() string }
	withLRP    interface{ GetActualLrp() *models.ActualLRP }
	withTask   interface{ GetTask() *models.Task }
	taskChange interface {
		GetBefore() *models.Task
		GetAfter() *models.Task
	}
	//lint:ignore SA1019 deprecated group events are still valid on the wire.
	withGroup interface{ GetActualLrpGroup() *models.ActualLRPGroup }
	//lint:ignore SA1019 deprecated group events are still valid on the wire.
	groupChange interface {
		GetBefore() *models.ActualLRPGroup
		GetAfter() *models.ActualLRPGroup
	}
)

// concernsEveryCell: as in the reference BBS, desired LRP events reach every
// subscriber of the instance stream, filtered by cell or not.
func concernsEveryCell(e models.Event) bool {
	switch e.(type) {
	case *models.DesiredLRPCreatedEvent, *models.DesiredLRPChangedEvent, *models.DesiredLRPRemovedEvent:
		return true
	}
	return false
}

// cellSet collects distinct non-empty cell ids (at most a handful).
type cellSet struct{ ids []string }

func (c *cellSet) add(id string) {
	if id == "" {
		return
	}
	for _, have := range c.ids {
		if have == id {
			return
		}
	}
	c.ids = append(c.ids, id)
}

func (c *cellSet) addLRP(lrp *models.ActualLRP) {
	if lrp != nil {
		c.add(lrp.CellId)
	}
}

func (c *cellSet) addTask(t *models.Task) {
	if t != nil {
		c.add(t.CellId)
	}
}

//lint:ignore SA1019 deprecated group events are still valid on the wire.
func (c *cellSet) addGroup(g *models.ActualLRPGroup) {
	if g != nil {
		c.addLRP(g.Instance)
		c.addLRP(g.Evacuating)
	}
}

// queued is how many events wait for s's reader (for tests).
func (s *Subscription) queued() int {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return len(s.queue)
}

// discardQueued drops the events waiting for s's reader (for benchmarks).
func (s *Subscription) discardQueued() {
	s.take()
	s.taken, s.next0 = nil, 0
}
