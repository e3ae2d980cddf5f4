package repclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

func TestCallsRepRoutes(t *testing.T) {
	var paths []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		if strings.Contains(r.URL.Path, "missing") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c := New(srv.Client().Transport.(*http.Transport).TLSClientConfig, time.Second)
	cell := &models.CellPresence{CellId: "c1", RepUrl: srv.URL}
	ctx := context.Background()
	if err := c.StopLRPInstance(ctx, cell, models.NewActualLRPKey("pg", 2, "d"), models.NewActualLRPInstanceKey("ig", "c1")); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelTask(ctx, cell, "tg"); err != nil {
		t.Fatal(err)
	}
	err := c.CancelTask(ctx, cell, "missing")
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v", err)
	}
	want := []string{"POST /v1/lrps/pg/instances/ig/stop", "POST /v1/tasks/tg/cancel", "POST /v1/tasks/missing/cancel"}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Fatalf("paths = %v", paths)
	}
	if err := c.CancelTask(ctx, &models.CellPresence{CellId: "x"}, "t"); err == nil {
		t.Fatal("no error for a presence without an address")
	}
}
