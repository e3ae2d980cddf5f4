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

// BenchmarkServeSSEFanOut delivers b.N events to 100 subscribers over TLS
// (as the BBS serves its cells) and reports events delivered per second.
func BenchmarkServeSSEFanOut(b *testing.B) {
	const subscribers = 100
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
