package routes

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/routeemitter/table"
)

func TestServeAndFetch(t *testing.T) {
	entries := []table.Entry{{ProcessGUID: "pg", RegistryMessage: table.RegistryMessage{Host: "10.0.0.5", Port: 61000, TLSPort: 61001,
		URIs: []string{"a.example.com"}, PrivateInstanceID: "ig", PrivateInstanceIndex: "2", Protocol: "http2"}}}
	srv := httptest.NewServer(Handler(func() Table {
		return Table{Mode: "local", CellID: "cell-1", Active: true, External: FromEntries(entries)}
	}))
	defer srv.Close()
	got, err := Fetch(context.Background(), strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	r := got.External[0]
	if got.Mode != "local" || got.CellID != "cell-1" || !got.Active || got.Internal == nil || len(got.Internal) != 0 ||
		r.Route != "a.example.com" || r.Host != "10.0.0.5" || r.Port != 61000 || r.TLSPort != 61001 || r.ProcessGUID != "pg" ||
		r.InstanceGUID != "ig" || r.Index != "2" || r.Protocol != "http2" {
		t.Fatalf("fetched %+v", got)
	}
	resp, err := http.Post(srv.URL+Path, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /routes: %s", resp.Status)
	}
}

func TestFetchErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if _, err := Fetch(context.Background(), srv.URL); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a 404: %v", err)
	}
	srv.Close()
	if _, err := Fetch(context.Background(), srv.URL); err == nil || !strings.Contains(err.Error(), "is the route emitter running") {
		t.Fatalf("nothing listening: %v", err)
	}
}
