package events

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"
)

// closeGrace is how long an in-flight write may take to finish after the
// subscription was closed (by its owner or by Hub.Close). A dropped
// subscriber, or a cancelled request, gets no grace: its write is aborted.
const closeGrace = time.Second

// envelope is one published event, encoded at most once however many
// streams it is written to.
type envelope struct {
	event models.Event

	once sync.Once
	data []byte // base64(proto.Marshal(event))
	err  error
}

func (e *envelope) encoded() ([]byte, error) {
	e.once.Do(func() { e.data, e.err = encode(e.event) })
	return e.data, e.err
}

// encode is an event's SSE data: base64 of its protobuf encoding.
func encode(ev models.Event) ([]byte, error) {
	raw, err := proto.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("events: marshalling %s event: %w", ev.EventType(), err)
	}
	data := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(data, raw)
	return data, nil
}

// Version rewrites an event for one stream, e.g. down to an older format
// (models.VersionDesiredLRPsTo); returning the event itself keeps the shared
// encoding.
type Version func(models.Event) models.Event

// appendFrame appends one server-sent event in the exact form
// sse.Event.Write produces for single-line data (base64 has no newlines):
// "id: <id>\nevent: <type>\ndata: <base64>\n\n".
func appendFrame(buf []byte, id int, name string, data []byte) []byte {
	buf = append(buf, "id: "...)
	buf = strconv.AppendInt(buf, int64(id), 10)
	buf = append(buf, "\nevent: "...)
	buf = append(buf, name...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	return append(buf, "\n\n"...)
}

// ServeSSE streams sub to w as server-sent events in the reference BBS
// format: event name = EventType(), data = base64 of the protobuf encoding,
// id = 0, 1, 2... per stream. It writes the status and headers, flushes after
// every event (events already queued go out together, in one flush), and returns when ctx is done (ctx.Err()), when the
// subscription ends (ErrDropped, ErrClosed, ErrHubClosed), or when writing
// fails. It never returns nil. If the subscription has already ended, it
// returns at once without writing anything, so the caller may still send an
// error status.
//
// A write blocked on a client that stopped reading is aborted (through
// http.ResponseController.SetWriteDeadline, where supported) as soon as the
// subscriber is dropped or ctx is done.
func ServeSSE(ctx context.Context, w http.ResponseWriter, sub *Subscription) error {
	return ServeSSEAs(ctx, w, sub, nil)
}

// ServeSSEAs is ServeSSE with every event passed through version first (nil:
// as published). The reference's older stream routes send desired LRPs and
// tasks in older formats.
func ServeSSEAs(ctx context.Context, w http.ResponseWriter, sub *Subscription, version Version) error {
	if sub == nil {
		return errors.New("events: ServeSSE: nil subscription")
	}
	if err := sub.Err(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Connection", "keep-alive")
	// Not chunked: the stream is the rest of the connection, as the SSE
	// recommendation suggests (net/http then closes the connection when
	// the stream ends). Chunked, each batch was three TLS records and
	// three syscalls (chunk header, data, trailer); now it is one. HTTP/2
	// drops the header and frames the stream itself.
	h.Set("Transfer-Encoding", "identity")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("events: flushing event stream headers: %w", err)
	}

	g := newWriteGuard(ctx, sub, rc)
	defer g.stop()

	var (
		lastFlush time.Time
		backlog   bool // the last write stopped at maxBatchBytes
		linger    = time.NewTimer(time.Hour)
	)
	linger.Stop()
	defer linger.Stop()
	for id := 0; ; {
		env, err := sub.next(ctx)
		if err != nil {
			return err
		}
		// Events go out in batches: when the stream flushed less than its
		// hub's flushEvery ago, it waits out the rest of that interval
		// (less if its buffer fills up to half), and every event queued by
		// then shares one write and flush. A write (a TLS record and a
		// syscall) per event per subscriber was most of the BBS's CPU with
		// a hundred subscribers under load; an idle stream still sends
		// each event at once, and a backlog goes out without waiting.
		if wait := sub.hub.flushEvery() - time.Since(lastFlush); wait > 0 && !backlog {
			linger.Reset(wait)
			sub.linger(linger.C, ctx.Done())
			linger.Stop()
		}
		bp := batchBuffers.Get().(*[]byte)
		buf := (*bp)[:0]
		first := id
		backlog = false
		for env != nil {
			data, err := versioned(env, version)
			if err != nil {
				return err
			}
			buf = appendFrame(buf, id, env.event.EventType(), data)
			id++
			if len(buf) >= maxBatchBytes {
				backlog = true
				break
			}
			env = sub.tryNext()
		}
		if !g.begin() {
			return g.reason()
		}
		_, err = w.Write(buf)
		if err == nil {
			err = rc.Flush()
		}
		g.finish()
		if cap(buf) <= 2*maxBatchBytes {
			*bp = buf
			batchBuffers.Put(bp)
		}
		lastFlush = time.Now()
		if err != nil {
			if reason := g.reason(); reason != nil {
				return reason
			}
			return fmt.Errorf("events: writing events %d to %d: %w", first, id-1, err)
		}
	}
}

// batchBuffers lends each stream the buffer it builds a batch in, for the
// batch's write only: with 1,200 streams each keeping its own buffer, those
// were 78 MB of the BBS's heap (and twice that in RSS, GC headroom
// included) while only the few streams writing at any one moment need one.
var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// maxBatchBytes bounds the frames ServeSSEAs sends in one write: enough for
// hundreds of events, small enough to keep a slow subscriber's write short.
const maxBatchBytes = 64 << 10

// flushInterval is how often a busy stream flushes at most while the hub
// has up to flushStep subscribers: an event waits for the next flush at
// most this long. Each further flushStep subscribers add flushInterval, up
// to maxFlushInterval: with a thousand streams, a write per stream every
// 20 ms was 50,000 TLS writes a second for the BBS (and as many reads for
// the subscribers) while the events they carried fit in a tenth of that.
// At 1,200 streams, a write each every 200 ms (6,000 a second) was still
// a third of the BBS's CPU and a fifth of the subscribers' in a
// 250,000-instance ramp; a busy stream there now writes every 400 ms. An
// idle stream still sends an event at once.
const (
	flushInterval    = 20 * time.Millisecond
	flushStep        = 50
	maxFlushInterval = 400 * time.Millisecond
)

// flushEvery is how often each of the hub's busy streams flushes at most.
func (h *Hub) flushEvery() time.Duration {
	n := time.Duration(max(1, h.count.Load()/flushStep))
	return min(flushInterval*n, maxFlushInterval)
}

// versioned is env's data as version rewrites it.
func versioned(env *envelope, version Version) ([]byte, error) {
	if version != nil {
		if ev := version(env.event); ev != env.event {
			return encode(ev)
		}
	}
	return env.encoded()
}

// writeGuard aborts an in-flight write when the stream must end: it watches
// ctx and the subscription and, if a write is under way at that moment, sets
// a write deadline on the connection.
type writeGuard struct {
	ctx  context.Context
	sub  *Subscription
	rc   *http.ResponseController
	quit chan struct{}
	done chan struct{}

	mu          sync.Mutex
	writing     bool // guarded by mu
	stopped     bool // guarded by mu
	deadlineSet bool // guarded by mu
}

func newWriteGuard(ctx context.Context, sub *Subscription, rc *http.ResponseController) *writeGuard {
	g := &writeGuard{ctx: ctx, sub: sub, rc: rc, quit: make(chan struct{}), done: make(chan struct{})}
	go g.watch()
	return g
}

func (g *writeGuard) watch() {
	defer close(g.done)
	select {
	case <-g.quit:
		return
	case <-g.ctx.Done():
	case <-g.sub.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	if !g.writing {
		return
	}
	deadline := time.Now()
	if g.ctx.Err() == nil && !errors.Is(g.sub.Err(), ErrDropped) {
		deadline = deadline.Add(closeGrace)
	}
	if g.rc.SetWriteDeadline(deadline) == nil {
		g.deadlineSet = true
	}
}

// begin marks the start of a write; false means the stream has to end instead.
func (g *writeGuard) begin() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.writing = true
	return true
}

func (g *writeGuard) finish() {
	g.mu.Lock()
	g.writing = false
	g.mu.Unlock()
}

// reason is why the stream is ending, or nil while it need not. The
// subscription's end takes precedence: aborting a write makes net/http
// cancel the request context as a consequence.
func (g *writeGuard) reason() error {
	if err := g.sub.Err(); err != nil {
		return err
	}
	return g.ctx.Err()
}

// stop ends the watcher and clears any grace deadline it set, so that a
// write that finished within the grace period does not leave a deadline
// behind on a connection that may be reused.
func (g *writeGuard) stop() {
	close(g.quit)
	<-g.done
	if g.deadlineSet {
		_ = g.rc.SetWriteDeadline(time.Time{})
	}
}
