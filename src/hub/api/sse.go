package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
)

// bus fans stream messages out to the SSE clients; a slow client loses
// messages rather than holding the others up.
type bus struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

func newBus() *bus { return &bus{subs: map[chan []byte]struct{}{}} }

func (b *bus) subscribe() (chan []byte, func()) {
	ch := make(chan []byte, 256)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

func (b *bus) send(msg []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- msg:
		default:
		}
	}
}

// publish sends an event with v as its JSON data.
func (b *bus) publish(event string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	b.send([]byte(fmt.Sprintf("event: %s\ndata: %s\n\n", event, data)))
}

// comment sends an SSE comment (a heartbeat).
func (b *bus) comment(text string) { b.send([]byte(": " + text + "\n\n")) }

// stream serves GET /api/stream until the client goes away.
func (h *Hub) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming is not supported by this connection")
		return
	}
	ch, cancel := h.bus.subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": connected\n\n")
	fl.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.quit:
			return
		case msg := <-ch:
			if _, err := w.Write(msg); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
