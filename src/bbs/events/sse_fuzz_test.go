package events

import (
	"bytes"
	"io"
	"reflect"
	"strconv"
	"testing"

	bbsevents "code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"
	"github.com/vito/go-sse/sse"
)

// fuzzEventTypes are the event models the BBS streams, one of each.
func fuzzEventTypes() []reflect.Type {
	var types []reflect.Type
	seen := map[reflect.Type]bool{}
	for _, c := range eventCases() {
		if t := reflect.TypeOf(c.event).Elem(); !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	return types
}

// FuzzEventRoundTrip: any event the BBS could publish (the first byte picks
// the model, the rest is its protobuf encoding) is framed exactly as
// ServeSSE writes it, and the reference client's event source reads back
// an equal event of the same type with the frame's id; CellIDs, the hub's
// cell filter, never panics on it whatever fields are nil.
func FuzzEventRoundTrip(f *testing.F) {
	types := fuzzEventTypes()
	index := map[reflect.Type]int{}
	for i, t := range types {
		index[t] = i
	}
	for _, c := range eventCases() {
		raw, err := proto.Marshal(c.event)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(index[reflect.TypeOf(c.event).Elem()])}, raw...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		ev := reflect.New(types[int(data[0])%len(types)]).Interface().(models.Event)
		if proto.Unmarshal(data[1:], ev) != nil {
			return
		}
		_ = CellIDs(ev)
		encoded, err := encode(ev)
		if err != nil {
			t.Fatalf("encoding a decoded %s event: %v", ev.EventType(), err)
		}
		if len(encoded) == 0 {
			return // an empty payload: the reference reader refuses it by design (ErrNoData)
		}
		id := int(data[0])
		frame := appendFrame(nil, id, ev.EventType(), encoded)
		rc := sse.NewReadCloser(io.NopCloser(bytes.NewReader(frame)))
		raw, err := rc.Next()
		if err != nil || raw.ID != strconv.Itoa(id) || raw.Name != ev.EventType() {
			t.Fatalf("raw event %+v, %v; want id %d name %s", raw, err, id, ev.EventType())
		}
		got, err := bbsevents.NewEventSource(&oneEvent{raw: raw}).Next()
		if err != nil {
			t.Fatalf("the reference event source refuses a %s frame: %v", ev.EventType(), err)
		}
		if reflect.TypeOf(got) != reflect.TypeOf(ev) || !proto.Equal(got, ev) {
			t.Fatalf("round trip of %s:\n got %+v\nwant %+v", ev.EventType(), got, ev)
		}
	})
}

// oneEvent is a RawEventSource holding one event.
type oneEvent struct {
	raw  sse.Event
	done bool
}

func (o *oneEvent) Next() (sse.Event, error) {
	if o.done {
		return sse.Event{}, io.EOF
	}
	o.done = true
	return o.raw, nil
}

func (o *oneEvent) Close() error { return nil }
