package interop_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// TestEveryReferenceRoute walks the pinned reference's route table: every
// route it serves must be served here, with its method, and answer as the
// reference's handlers do: a protobuf response for calls, an event stream
// for streams.
func TestEveryReferenceRoute(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	hc := mtlsClient(t, h.Certs, false)
	if len(bbs.Routes) < 49 {
		t.Fatalf("the reference's route table has only %d routes", len(bbs.Routes))
	}
	for _, route := range bbs.Routes {
		t.Run(route.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, route.Method, h.URL+route.Path, nil)
			must(t, err)
			resp, err := hc.Do(req)
			must(t, err)
			defer resp.Body.Close()
			want := "application/x-protobuf"
			if isStream(route.Path) {
				want = "text/event-stream; charset=utf-8"
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != want {
				t.Fatalf("%s %s: %d %q, want 200 %q", route.Method, route.Path, resp.StatusCode, resp.Header.Get("Content-Type"), want)
			}
		})
	}
}

// TestStreamRequests: as in the reference, an LRP stream whose request does
// not decode answers a bare 500, and the task stream ignores its body.
func TestStreamRequests(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	hc := mtlsClient(t, h.Certs, false)
	garbage := []byte{0xff, 0xff, 0xff, 0x01}
	for _, route := range bbs.Routes {
		if !isStream(route.Path) {
			continue
		}
		t.Run(route.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, route.Method, h.URL+route.Path, bytes.NewReader(garbage))
			must(t, err)
			resp, err := hc.Do(req)
			must(t, err)
			defer resp.Body.Close()
			want := http.StatusInternalServerError
			if strings.HasPrefix(route.Path, "/v1/events/tasks") {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Fatalf("%s %s with a garbage body: %d, want %d", route.Method, route.Path, resp.StatusCode, want)
			}
		})
	}
}

func isStream(path string) bool {
	switch path {
	case "/v1/events", "/v1/events.r1", "/v1/events/tasks", "/v1/events/tasks.r1",
		"/v1/events/lrp_instances", "/v1/events/lrp_instances.r1":
		return true
	}
	return false
}
