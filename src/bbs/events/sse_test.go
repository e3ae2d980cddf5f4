package events

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bbsevents "code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"github.com/vito/go-sse/sse"

	"github.com/diego-go/diego/src/internal/testutil"
)

// sseServer serves hub on /v1/events/... with the cell id taken from the
// "cell" query parameter, and reports each ServeSSE result on results.
func sseServer(t *testing.T, hub *Hub) (*httptest.Server, chan error) {
	t.Helper()
	results := make(chan error, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := hub.Subscribe(r.URL.Query().Get("cell"))
		defer sub.Close()
		results <- ServeSSE(r.Context(), w, sub)
	}))
	t.Cleanup(srv.Close)
	return srv, results
}

// recordingSource passes raw events through to the reference event parser
// and remembers them.
type recordingSource struct {
	*sse.EventSource
	mu  sync.Mutex
	raw []sse.Event
}

func (r *recordingSource) Next() (sse.Event, error) {
	e, err := r.EventSource.Next()
	if err == nil {
		r.mu.Lock()
		r.raw = append(r.raw, e)
		r.mu.Unlock()
	}
	return e, err
}

func connect(t *testing.T, srv *httptest.Server, path string) *recordingSource {
	t.Helper()
	cfg := sse.Config{
		Client: srv.Client(),
		RequestCreator: func() *http.Request {
			req, err := http.NewRequest(http.MethodPost, srv.URL+path, nil)
			if err != nil {
				panic(err)
			}
			return req
		},
	}
	es, err := cfg.Connect()
	if err != nil {
		t.Fatal(err)
	}
	return &recordingSource{EventSource: es}
}

func TestServeSSEReadByReferenceClient(t *testing.T) {
	hub := NewHub(0, nil)
	srv, results := sseServer(t, hub)
	raw := connect(t, srv, "/v1/events/lrp_instances.r1")
	source := bbsevents.NewEventSource(raw)
	// Connect returns once headers arrive, which ServeSSE sends only after
	// the handler subscribed, so the subscriber exists now.
	if n := hub.SubscriberCount(); n != 1 {
		t.Fatalf("SubscriberCount = %d", n)
	}

	var sent []models.Event
	for _, c := range eventCases() {
		if c.name == "task created nil task" || strings.HasPrefix(c.name, "deprecated group removed") {
			continue // empty payloads: the reference reader rejects them by design
		}
		sent = append(sent, c.event)
		hub.Publish(c.event)
	}
	for i, want := range sent {
		got, err := source.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if reflect.TypeOf(got) != reflect.TypeOf(want) || got.EventType() != want.EventType() {
			t.Fatalf("event %d: got %T (%s), want %T", i, got, got.EventType(), want)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d (%s): payload differs:\n got %+v\nwant %+v", i, want.EventType(), got, want)
		}
		r := raw.raw[i]
		if r.ID != strconv.Itoa(i) || r.Name != want.EventType() {
			t.Fatalf("event %d: raw id %q name %q", i, r.ID, r.Name)
		}
	}

	hub.Close()
	if _, err := source.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after Hub.Close, Next = %v, want io.EOF (a clean end of stream)", err)
	}
	receiveErr(t, results, ErrHubClosed, "ServeSSE after Hub.Close")
	_ = source.Close()
}

func TestServeSSECellFilterOverHTTP(t *testing.T) {
	hub := NewHub(0, nil)
	defer hub.Close()
	srv, _ := sseServer(t, hub)
	source := bbsevents.NewEventSource(connect(t, srv, "/v1/events/lrp_instances.r1?cell=cell-b"))
	defer source.Close()

	hub.Publish(models.NewActualLRPInstanceCreatedEvent(actualLRP("1", "cell-a"), "t"))
	hub.Publish(models.NewActualLRPInstanceCreatedEvent(actualLRP("3", "cell-c"), "t"))
	want := models.NewActualLRPInstanceRemovedEvent(actualLRP("2", "cell-b"), "t")
	hub.Publish(want)
	got, err := source.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestServeSSEHeadersAndFrames(t *testing.T) {
	hub := NewHub(0, nil)
	sub := hub.Subscribe("")
	ev := models.NewTaskChangedEvent(task("k", ""), task("k", "cell-a"))
	hub.Publish(ev)
	hub.Publish(ev)
	hub.Publish(models.NewDesiredLRPRemovedEvent(desiredLRP("d"), "trace"))

	rec := httptest.NewRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeSSE(ctx, rec, sub) }()
	testutil.WaitFor(t, 10*time.Second, "the stream to drain the buffer", func() bool { return sub.queued() == 0 })
	time.Sleep(10 * time.Millisecond) // let the last write land
	cancel()
	receiveErr(t, done, context.Canceled, "ServeSSE after cancel")

	res := rec.Result()
	if res.StatusCode != http.StatusOK {
		t.Errorf("status %d", res.StatusCode)
	}
	for k, v := range map[string]string{
		"Content-Type":  "text/event-stream; charset=utf-8",
		"Cache-Control": "no-cache, no-store, must-revalidate",
		"Connection":    "keep-alive",
	} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	// The body must be exactly what the reference library's encoder writes.
	var want strings.Builder
	for i, e := range []models.Event{ev, ev, models.NewDesiredLRPRemovedEvent(desiredLRP("d"), "trace")} {
		se, err := bbsevents.NewEventFromModelEvent(i, e)
		if err != nil {
			t.Fatal(err)
		}
		want.WriteString(se.Encode())
	}
	if got := rec.Body.String(); got != want.String() {
		t.Fatalf("body:\n%q\nwant:\n%q", got, want.String())
	}
}

func TestServeSSEEndedSubscriptionWritesNothing(t *testing.T) {
	hub := NewHub(0, nil)
	sub := hub.Subscribe("")
	sub.Close()
	rec := httptest.NewRecorder()
	if err := ServeSSE(context.Background(), rec, sub); !errors.Is(err, ErrClosed) {
		t.Fatalf("ServeSSE = %v", err)
	}
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Fatal("ServeSSE wrote to the response for an ended subscription")
	}
}

func TestServeSSEClosedSubscriptionEndsStream(t *testing.T) {
	hub := NewHub(0, nil)
	defer hub.Close()
	var mu sync.Mutex
	var sub *Subscription
	results := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := hub.Subscribe("")
		mu.Lock()
		sub = s
		mu.Unlock()
		results <- ServeSSE(r.Context(), w, s)
	}))
	defer srv.Close()
	source := bbsevents.NewEventSource(connect(t, srv, "/v1/events/tasks.r1"))
	defer source.Close()
	hub.Publish(models.NewTaskRemovedEvent(task("k", "")))
	if _, err := source.Next(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	sub.Close()
	mu.Unlock()
	if _, err := source.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("Next = %v, want io.EOF", err)
	}
	receiveErr(t, results, ErrClosed, "ServeSSE after Subscription.Close")
}

// A client that connects and then never reads fills the socket buffers,
// which blocks ServeSSE in Write; the hub then drops the subscriber and
// ServeSSE must give up on the write and return.
func TestServeSSEStuckClientIsDroppedAndHandlerReturns(t *testing.T) {
	hub := NewHub(8, nil)
	defer hub.Close()
	srv, results := sseServer(t, hub)

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/events/tasks.r1", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // never read

	big := task("big", "")
	big.Annotation = strings.Repeat("x", 256<<10)
	ev := models.NewTaskCreatedEvent(big)
	deadline := time.Now().Add(20 * time.Second)
	for hub.Dropped() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("stuck subscriber was never dropped")
		}
		hub.Publish(ev)
		time.Sleep(time.Millisecond)
	}
	receiveErr(t, results, ErrDropped, "ServeSSE writing to a stuck client after it was dropped")
	if n := hub.SubscriberCount(); n != 0 {
		t.Fatalf("SubscriberCount = %d", n)
	}
}
