package scalebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
)

// LagConfig configures a LagMeter.
type LagConfig struct {
	// Subscribers is K, the number of event-stream subscribers (1,200 for
	// the full preset: one per cell, as route emitters and cells do).
	Subscribers int
	// Subscribe opens subscriber i's stream, typically
	// client.SubscribeToInstanceEvents(logger) on a shared reference client.
	Subscribe func(i int) (events.EventSource, error)
	// ConnectParallelism bounds concurrent subscriptions while connecting
	// (default 16), so K TLS handshakes do not all land at once.
	ConnectParallelism int
	// Observe, if set, receives every event subscriber 0 reads, on its
	// goroutine (e.g. Running.Observe).
	Observe func(models.Event)
	// Now is the receive clock (default time.Now).
	Now func() time.Time
	// Resubscribe reopens a stream the BBS ended (a subscriber dropped for
	// falling a buffer behind, or a leader that stopped), retrying every
	// second until Close; each is counted in LagStats.Resubscribed. Events
	// published while it was away are lost to that subscriber.
	Resubscribe bool
	// CloseWait bounds how long Close waits for the readers (default
	// 10 s): the reference client cannot interrupt a subscription or a
	// reconnection whose request the BBS does not answer.
	CloseWait time.Duration
}

// DefaultCloseWait is LagConfig.CloseWait's default.
const DefaultCloseWait = 10 * time.Second

// DefaultLagConfig is one subscriber.
func DefaultLagConfig() LagConfig { return LagConfig{Subscribers: 1, ConnectParallelism: 16} }

// Validate reports the first problem with c.
func (c LagConfig) Validate() error {
	switch {
	case c.Subscribers < 1:
		return fmt.Errorf("lag meter: subscribers %d < 1", c.Subscribers)
	case c.Subscribe == nil:
		return errors.New("lag meter: no Subscribe function")
	case c.ConnectParallelism < 0:
		return fmt.Errorf("lag meter: connect parallelism %d < 0", c.ConnectParallelism)
	}
	return nil
}

// EventTime is the change time the BBS carried in e, in Unix nanoseconds:
// the `since` of a created or changed actual LRP (the BBS's clock when it
// decided the change, before writing it), or a task's updated_at. Removed
// events and desired LRP events carry no change time: ok is false.
func EventTime(e models.Event) (ns int64, ok bool) {
	switch ev := e.(type) {
	case *models.ActualLRPInstanceCreatedEvent:
		if ev.ActualLrp != nil {
			return ev.ActualLrp.Since, true
		}
	case *models.ActualLRPInstanceChangedEvent:
		if ev.After != nil {
			return ev.After.Since, true
		}
	case *models.ActualLRPCreatedEvent:
		if l, ok := groupInstance(ev.ActualLrpGroup); ok {
			return l.Since, true
		}
	case *models.ActualLRPChangedEvent:
		if l, ok := groupInstance(ev.After); ok {
			return l.Since, true
		}
	case *models.TaskCreatedEvent:
		if ev.Task != nil {
			return ev.Task.UpdatedAt, true
		}
	case *models.TaskChangedEvent:
		if ev.After != nil {
			return ev.After.UpdatedAt, true
		}
	}
	return 0, false
}

func groupInstance(g *models.ActualLRPGroup) (*models.ActualLRP, bool) {
	switch {
	case g == nil:
		return nil, false
	case g.Evacuating != nil && g.Instance == nil:
		return g.Evacuating, true
	case g.Instance != nil:
		return g.Instance, true
	}
	return nil, false
}

// maxConsecutiveFailures ends a stream whose Next keeps failing.
const maxConsecutiveFailures = 10

// subscriber is one stream's reader and its figures.
type subscriber struct {
	mu     sync.Mutex
	src    events.EventSource // replaced on resubscription; guarded by mu
	hist   LagHistogram
	events atomic.Uint64 // every event read, timed or not
}

// LagMeter holds K subscribers to the BBS event stream and measures, per
// event, receive time minus the change time the event carries (EventTime).
// Each subscriber is one goroutine and an 8 KiB histogram: no lock is
// shared on the receive path.
type LagMeter struct {
	cfg     LagConfig
	subs    []*subscriber
	wg      sync.WaitGroup
	live    atomic.Int64 // readers running
	closing atomic.Bool
	done    chan struct{} // closed by Close
	once    sync.Once
	invalid atomic.Uint64 // failed reads skipped
	resubs  atomic.Uint64 // streams reopened

	mu   sync.Mutex
	errs []error // streams that ended with an error other than close; guarded by mu
}

// StartLag connects every subscriber and starts reading; it returns once
// all are subscribed, or the first error (closing those already open).
func StartLag(ctx context.Context, cfg LagConfig) (*LagMeter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	par := cfg.ConnectParallelism
	if par == 0 {
		par = 16
	}
	if cfg.CloseWait <= 0 {
		cfg.CloseWait = DefaultCloseWait
	}
	m := &LagMeter{cfg: cfg, subs: make([]*subscriber, cfg.Subscribers), done: make(chan struct{})}
	sem := make(chan struct{}, par)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i := range m.subs {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			src, err := cfg.Subscribe(i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("subscriber %d: %w", i, err)
				}
				return
			}
			m.subs[i] = &subscriber{src: src}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("subscribing: %w", ctx.Err())
	}
	if firstErr != nil {
		for _, s := range m.subs {
			if s != nil {
				s.src.Close()
			}
		}
		return nil, firstErr
	}
	for i, s := range m.subs {
		m.wg.Add(1)
		m.live.Add(1)
		go m.read(i, s)
	}
	return m, nil
}

// read consumes one stream until it is closed.
func (m *LagMeter) read(i int, s *subscriber) {
	defer func() { m.live.Add(-1); m.wg.Done() }()
	observe := m.cfg.Observe
	if i != 0 {
		observe = nil
	}
	failures := 0
	for {
		s.mu.Lock()
		src := s.src
		s.mu.Unlock()
		e, err := src.Next()
		if err != nil {
			ended := errors.Is(err, io.EOF) || errors.Is(err, events.ErrSourceClosed) || m.closing.Load()
			if !ended && failures < maxConsecutiveFailures {
				// An event that does not parse, or a reconnection that
				// failed: skip it; the client retries underneath.
				failures++
				m.invalid.Add(1)
				continue
			}
			// A stream closed by Close may also end with io.EOF.
			if m.closing.Load() || errors.Is(err, events.ErrSourceClosed) {
				return
			}
			if m.cfg.Resubscribe && m.resubscribe(i, s) {
				failures = 0
				continue
			}
			m.mu.Lock()
			m.errs = append(m.errs, fmt.Errorf("subscriber %d: %w", i, err))
			m.mu.Unlock()
			return
		}
		failures = 0
		now := m.cfg.Now().UnixNano()
		s.events.Add(1)
		ns, ok := int64(0), false
		if te, isTimed := e.(*TimedEvent); isTimed { // a FrameSource's
			ns, ok = te.At, te.HasTime
		} else {
			ns, ok = EventTime(e)
		}
		if ok && ns > 0 {
			s.hist.Observe(time.Duration(now - ns))
		}
		if observe != nil {
			observe(e)
		}
	}
}

// resubscribe reopens subscriber i's stream, retrying every second until
// it succeeds (true) or the meter closes (false). A subscription the BBS
// does not answer (the reference client has no timeout for it) is left
// behind when the meter closes, and its stream closed if it ever opens.
func (m *LagMeter) resubscribe(i int, s *subscriber) bool {
	type opened struct {
		src events.EventSource
		err error
	}
	for !m.closing.Load() {
		ch := make(chan opened, 1)
		go func() {
			src, err := m.cfg.Subscribe(i)
			ch <- opened{src, err}
		}()
		var o opened
		select {
		case o = <-ch:
		case <-m.done:
			go func() {
				if o := <-ch; o.err == nil {
					o.src.Close()
				}
			}()
			return false
		}
		if o.err != nil {
			select {
			case <-time.After(time.Second):
			case <-m.done:
				return false
			}
			continue
		}
		s.mu.Lock()
		old := s.src
		s.src = o.src
		s.mu.Unlock()
		old.Close()
		m.resubs.Add(1)
		if m.closing.Load() { // Close may have missed the new stream
			o.src.Close()
			return false
		}
		return true
	}
	return false
}

// LagStats are the lag figures across all subscribers.
type LagStats struct {
	Subscribers int `json:"subscribers"`
	// Events is every event read by every subscriber; Timed those carrying a
	// change time. MinEvents and MaxEvents are per subscriber: a gap
	// between them means a subscriber missed events (a slow subscriber is
	// dropped by the BBS and reconnects).
	Events    uint64        `json:"events"`
	Timed     uint64        `json:"timed_events"`
	MinEvents uint64        `json:"min_events_per_subscriber"`
	MaxEvents uint64        `json:"max_events_per_subscriber"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	Max       time.Duration `json:"max_ns"`
	// Ended counts streams that ended with an error; Invalid counts
	// failed reads that were skipped (an event that did not parse).
	Ended        int    `json:"ended_streams"`
	Invalid      uint64 `json:"invalid_events"`
	Resubscribed uint64 `json:"resubscribed"`
}

// Counts merges every subscriber's histogram (for LagCounts.Sub over an
// interval).
func (m *LagMeter) Counts() LagCounts {
	c := LagCounts{Counts: make([]uint64, lagBuckets)}
	for _, s := range m.subs {
		s.hist.addTo(&c)
	}
	return c
}

// Stats reports the lag since the start.
func (m *LagMeter) Stats() LagStats { return m.StatsSince(LagCounts{}) }

// StatsSince reports the lag of events after prev (an earlier Counts).
func (m *LagMeter) StatsSince(prev LagCounts) LagStats {
	st := LagStats{Subscribers: len(m.subs)}
	for i, s := range m.subs {
		n := s.events.Load()
		st.Events += n
		if i == 0 || n < st.MinEvents {
			st.MinEvents = n
		}
		st.MaxEvents = max(st.MaxEvents, n)
	}
	c := m.Counts().Sub(prev)
	st.Timed = c.N
	st.P50, st.P99 = c.Quantile(0.5), c.Quantile(0.99)
	st.Max = c.Quantile(1)
	m.mu.Lock()
	st.Ended = len(m.errs)
	st.Invalid = m.invalid.Load()
	st.Resubscribed = m.resubs.Load()
	m.mu.Unlock()
	return st
}

// Err joins the errors of streams that ended on their own.
func (m *LagMeter) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return errors.Join(m.errs...)
}

// Close closes every stream and waits for the readers, at most
// LagConfig.CloseWait: a reader blocked in a request the BBS does not
// answer (a subscription, or the reference client reconnecting a stream
// inside Next) cannot be interrupted, so it is left behind and counted in
// the error. Later calls return nil at once.
func (m *LagMeter) Close() error {
	first := false
	m.once.Do(func() {
		first = true
		m.closing.Store(true)
		close(m.done)
	})
	if !first {
		return nil
	}
	for _, s := range m.subs {
		s.mu.Lock()
		s.src.Close()
		s.mu.Unlock()
	}
	finished := make(chan struct{})
	go func() { m.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(m.cfg.CloseWait):
	}
	if n := m.live.Load(); n > 0 {
		return fmt.Errorf("lag meter: %d of %d subscribers still blocked in a BBS request after %v; left behind", n, len(m.subs), m.cfg.CloseWait)
	}
	return nil
}
