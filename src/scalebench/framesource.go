package scalebench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"
)

// FrameSource is an events.EventSource that reads the BBS's instance event
// stream with a FrameReader: its events are *TimedEvent, which carry only
// the name and change time (what a lag-meter subscriber needs), at no
// allocation per event. It does not reconnect: a stream that ends returns
// io.EOF, and the LagMeter resubscribes.
type FrameSource struct {
	body io.ReadCloser
	f    *FrameReader
	once sync.Once
	mu   sync.Mutex
	done bool // guarded by mu
}

// InstanceEventsPath is the BBS's instance event stream (the reference
// client's LRPInstanceEventStreamRoute_r1).
const InstanceEventsPath = "/v1/events/lrp_instances.r1"

// OpenFrameSource subscribes to the event stream at bbsURL+path with
// client (which carries the BBS client certificate).
func OpenFrameSource(ctx context.Context, client *http.Client, bbsURL, path string) (*FrameSource, error) {
	return OpenFrameSourceForCell(ctx, client, bbsURL, path, "")
}

// OpenFrameSourceForCell is OpenFrameSource filtered to one cell's events
// (and the events that concern every cell), as a route emitter in local
// mode subscribes; cellID "" is the whole stream.
func OpenFrameSourceForCell(ctx context.Context, client *http.Client, bbsURL, path, cellID string) (*FrameSource, error) {
	var body io.Reader = http.NoBody
	if cellID != "" {
		b, err := proto.Marshal(&models.EventsByCellId{CellId: cellID})
		if err != nil {
			return nil, fmt.Errorf("event stream %s: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(bbsURL, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("event stream %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("event stream %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("event stream %s: %s: %q", path, resp.Status, b)
	}
	f := NewFrameReader(resp.Body)
	f.Decode = Timed // the others' payloads would be decoded for nothing
	return &FrameSource{body: resp.Body, f: f}, nil
}

// Next implements events.EventSource.
func (s *FrameSource) Next() (models.Event, error) {
	name, payload, err := s.f.Next()
	if err != nil {
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		if done {
			return nil, events.ErrSourceClosed
		}
		return nil, err
	}
	ns, ok := FrameTime(name, payload)
	return &TimedEvent{Name: name, At: ns, HasTime: ok}, nil
}

// Close implements events.EventSource.
func (s *FrameSource) Close() error {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	var err error
	s.once.Do(func() { err = s.body.Close() })
	return err
}

// TimedEvent is an event as FrameSource reads it: its type and the change
// time it carries (EventTime's answer).
type TimedEvent struct {
	Name    string
	At      int64
	HasTime bool
}

// EventType implements models.Event.
func (e *TimedEvent) EventType() string { return e.Name }

// Key implements models.Event; a TimedEvent keeps no key.
func (e *TimedEvent) Key() string { return "" }

// Reset implements proto.Message.
func (e *TimedEvent) Reset() { *e = TimedEvent{} }

// String implements proto.Message.
func (e *TimedEvent) String() string { return fmt.Sprintf("%s at %d", e.Name, e.At) }

// ProtoMessage implements proto.Message.
func (e *TimedEvent) ProtoMessage() {}

var (
	_ events.EventSource = (*FrameSource)(nil)
	_ models.Event       = (*TimedEvent)(nil)
)
