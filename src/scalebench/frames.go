package scalebench

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"code.cloudfoundry.org/bbs/models"
	"google.golang.org/protobuf/encoding/protowire"
)

// FrameReader reads the BBS's server-sent events without decoding them
// into models: a lag-meter subscriber needs only each event's name and
// time, and a thousand subscribers decoding every event with the
// reference client cost the benchmark more CPU than the BBS it measures.
type FrameReader struct {
	// Decode, when set, says which events' payloads Next decodes; the
	// others come back with a nil payload, their data skipped unread.
	Decode func(name string) bool

	r       *bufio.Reader
	name    []byte
	data    []byte
	payload []byte
}

// NewFrameReader reads frames from r.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next event's name and its protobuf payload, valid
// until the following call. io.EOF means the stream ended cleanly.
func (f *FrameReader) Next() (name string, payload []byte, err error) {
	f.name, f.data = f.name[:0], f.data[:0]
	seen := false
	for {
		line, err := f.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return "", nil, errors.New("event stream: a line longer than 64 KiB")
		}
		if err != nil {
			if errors.Is(err, io.EOF) && (seen || len(line) > 0) {
				err = io.ErrUnexpectedEOF
			}
			return "", nil, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if !seen {
				continue
			}
			break
		}
		seen = true
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			f.name = append(f.name, value...)
		case "data":
			if f.Decode != nil && !f.Decode(eventName(f.name)) {
				continue
			}
			if len(f.data) > 0 {
				f.data = append(f.data, '\n')
			}
			f.data = append(f.data, value...)
		}
	}
	name = eventName(f.name)
	if f.Decode != nil && !f.Decode(name) {
		return name, nil, nil
	}
	n := base64.StdEncoding.DecodedLen(len(f.data))
	if cap(f.payload) < n {
		f.payload = make([]byte, n)
	}
	n, err = base64.StdEncoding.Decode(f.payload[:n], f.data)
	if err != nil {
		return name, nil, fmt.Errorf("event stream: %s: data is not base64: %w", f.name, err)
	}
	return name, f.payload[:n], nil
}

// knownEvents are the BBS's event names, which eventName returns without
// allocating: 1,200 subscribers read some 100,000 events a second.
var knownEvents = []string{
	models.EventTypeDesiredLRPCreated, models.EventTypeDesiredLRPChanged, models.EventTypeDesiredLRPRemoved,
	models.EventTypeActualLRPCreated, models.EventTypeActualLRPChanged, models.EventTypeActualLRPRemoved,
	models.EventTypeActualLRPCrashed, models.EventTypeActualLRPInstanceCreated,
	models.EventTypeActualLRPInstanceChanged, models.EventTypeActualLRPInstanceRemoved,
	models.EventTypeTaskCreated, models.EventTypeTaskChanged, models.EventTypeTaskRemoved,
}

// eventName is b as a string, one of knownEvents' if it is one.
func eventName(b []byte) string {
	for _, k := range knownEvents {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

// FrameTime is EventTime read straight from an event's protobuf payload:
// the since of the instance an LRP event carries (after a change), the
// updated_at of a task. ok is false for other events and for payloads
// without the field.
func FrameTime(name string, payload []byte) (ns int64, ok bool) {
	switch name {
	case models.EventTypeActualLRPInstanceCreated: // actual_lrp = 1
		return fieldVarint(message(payload, 1), 8)
	case models.EventTypeActualLRPInstanceChanged: // after = 4 (ActualLRPInfo)
		return fieldVarint(message(payload, 4), 8)
	case models.EventTypeActualLRPCreated: // actual_lrp_group = 1
		return groupSince(message(payload, 1))
	case models.EventTypeActualLRPChanged: // after = 2
		return groupSince(message(payload, 2))
	case models.EventTypeTaskCreated: // task = 1, updated_at = 5
		return fieldVarint(message(payload, 1), 5)
	case models.EventTypeTaskChanged: // after = 2
		return fieldVarint(message(payload, 2), 5)
	}
	return 0, false
}

// Timed says whether FrameTime reads a time from events named name (the
// others, such as desired LRP events, carry none).
func Timed(name string) bool {
	switch name {
	case models.EventTypeActualLRPInstanceCreated, models.EventTypeActualLRPInstanceChanged,
		models.EventTypeActualLRPCreated, models.EventTypeActualLRPChanged,
		models.EventTypeTaskCreated, models.EventTypeTaskChanged:
		return true
	}
	return false
}

// groupSince is the since of an ActualLRPGroup's instance (1), or of its
// evacuating instance (2) when it has none.
func groupSince(g []byte) (int64, bool) {
	if g == nil {
		return 0, false
	}
	if inst := message(g, 1); inst != nil {
		return fieldVarint(inst, 8)
	}
	return fieldVarint(message(g, 2), 8)
}

// message is the last embedded message with field number num in b (nil
// when absent or b does not parse).
func message(b []byte, num protowire.Number) []byte {
	var out []byte
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil
			}
			out, b = v, b[l:]
			if out == nil {
				out = []byte{}
			}
			continue
		}
		if l = protowire.ConsumeFieldValue(n, typ, b); l < 0 {
			return nil
		}
		b = b[l:]
	}
	return out
}

// fieldVarint is the last varint field num in b.
func fieldVarint(b []byte, num protowire.Number) (int64, bool) {
	var (
		v  int64
		ok bool
	)
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return 0, false
		}
		b = b[l:]
		if n == num && typ == protowire.VarintType {
			x, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return 0, false
			}
			v, ok, b = int64(x), true, b[l:]
			continue
		}
		if l = protowire.ConsumeFieldValue(n, typ, b); l < 0 {
			return 0, false
		}
		b = b[l:]
	}
	return v, ok
}
