package events

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	bbsevents "code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"github.com/vito/go-sse/sse"
)

// A burst larger than one write's worth of frames arrives whole, in order,
// with consecutive ids, read by the reference client.
func TestServeSSEBurstArrivesInOrder(t *testing.T) {
	const n = 5000
	hub := NewHub(2*n, nil)
	defer hub.Close()
	srv, _ := sseServer(t, hub)
	raw := connect(t, srv, "/v1/events/lrp_instances.r1")
	source := bbsevents.NewEventSource(raw)
	defer source.Close()
	for i := 0; i < n; i++ {
		hub.Publish(models.NewActualLRPInstanceCreatedEvent(actualLRP(strconv.Itoa(i), "cell-a"), "t"))
	}
	for i := 0; i < n; i++ {
		got, err := source.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		created, ok := got.(*models.ActualLRPInstanceCreatedEvent)
		if !ok {
			t.Fatalf("event %d: got %T", i, got)
		}
		if g := created.ActualLrp.ProcessGuid; g != "pg-"+strconv.Itoa(i) {
			t.Fatalf("event %d: process guid %q: out of order", i, g)
		}
		if id := raw.raw[i].ID; id != strconv.Itoa(i) {
			t.Fatalf("event %d: id %q", i, id)
		}
	}
}

// A busy stream flushes less often the more streams the hub serves, up to
// a bound; subscribers leaving bring the interval back down.
func TestFlushEveryGrowsWithSubscribers(t *testing.T) {
	hub := NewHub(1, nil)
	defer hub.Close()
	if got := hub.flushEvery(); got != flushInterval {
		t.Fatalf("no subscribers: %v, want %v", got, flushInterval)
	}
	var subs []*Subscription
	want := map[int]time.Duration{flushStep - 1: flushInterval, flushStep: flushInterval, 2*flushStep + flushStep/2: 2 * flushInterval, 1200: maxFlushInterval}
	for n := 1; n <= 1200; n++ {
		subs = append(subs, hub.Subscribe(fmt.Sprintf("cell-%d", n%7)))
		if w, ok := want[n]; ok {
			if got := hub.flushEvery(); got != w {
				t.Fatalf("%d subscribers: %v, want %v", n, got, w)
			}
		}
	}
	for _, s := range subs[10:] {
		s.Close()
	}
	if got := hub.flushEvery(); got != flushInterval {
		t.Fatalf("10 subscribers left: %v, want %v", got, flushInterval)
	}
}

// BenchmarkServeSSEFanOut delivers b.N events to 100 and to 1,000
// subscribers over TLS (as the BBS serves its cells) and reports events
// delivered per second.
func BenchmarkServeSSEFanOut(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) { benchFanOut(b, n) })
	}
}

func benchFanOut(b *testing.B, subscribers int) {
	hub := NewHub(1<<16, nil)
	defer hub.Close()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := hub.Subscribe("")
		defer sub.Close()
		_ = ServeSSE(r.Context(), w, sub)
	}))
	srv.StartTLS()
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test server's own certificate
	tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 0, subscribers
	client := &http.Client{Transport: tr}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, subscribers)
	for i := 0; i < subscribers; i++ {
		cfg := sse.Config{Client: client, RequestCreator: func() *http.Request {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			return req
		}}
		es, err := cfg.Connect()
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer es.Close()
			for j := 0; j < b.N; j++ {
				if _, err := es.Next(); err != nil {
					errs <- fmt.Errorf("subscriber read %d of %d: %w", j, b.N, err)
					return
				}
			}
		}()
	}
	// Connect returns once headers arrive, sent after the subscription.
	if n := hub.SubscriberCount(); n != subscribers {
		b.Fatalf("SubscriberCount = %d, want %d", n, subscribers)
	}
	ev := models.NewActualLRPInstanceCreatedEvent(actualLRP("p", "cell-a"), "t")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hub.Publish(ev)
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*subscribers)/b.Elapsed().Seconds(), "deliveries/s")
}

// The stream is not chunked (one write per batch, not three), and the
// reference client still reads it.
func TestServeSSEIsNotChunked(t *testing.T) {
	hub := NewHub(0, nil)
	defer hub.Close()
	srv, _ := sseServer(t, hub)
	resp, err := srv.Client().Post(srv.URL+"/v1/events/lrp_instances.r1", "application/x-protobuf", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.TransferEncoding) != 0 || resp.ContentLength != -1 || !resp.Close {
		t.Fatalf("transfer encoding %v, content length %d, close %v: want a close-delimited body",
			resp.TransferEncoding, resp.ContentLength, resp.Close)
	}
	raw := connect(t, srv, "/v1/events/lrp_instances.r1")
	source := bbsevents.NewEventSource(raw)
	defer source.Close()
	hub.Publish(models.NewActualLRPInstanceCreatedEvent(actualLRP("1", "cell-a"), "t"))
	got, err := source.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.(*models.ActualLRPInstanceCreatedEvent); !ok {
		t.Fatalf("got %T", got)
	}
}
