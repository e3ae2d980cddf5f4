package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/cell"
)

// FuzzWork: any body POSTed to the rep's /work through the real handler
// over a real ledger: 200 with the rejected work, every posted LRP and task
// either accepted or rejected, the cell's free capacity never negative and
// /state still answering; or 400/409 saying what was wrong.
func FuzzWork(f *testing.F) {
	seed := func(w rep.Work) {
		b, err := json.Marshal(w)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(rep.Work{LRPs: []rep.LRP{lrp("a", 256), lrp("b", 2048)}, Tasks: []rep.Task{rep.NewTask("t1", "d", rep.NewResource(128, 20, 1), rep.PlacementConstraint{RootFs: "docker:///x"})}})
	seed(rep.Work{LRPs: []rep.LRP{lrp("a", 256), lrp("a", 256)}, CellID: "cell-1"})
	seed(rep.Work{LRPs: []rep.LRP{lrp("a", -5)}})
	seed(rep.Work{Tasks: []rep.Task{rep.NewTask("t", "d", rep.NewResource(1, 1, 1), rep.PlacementConstraint{RootFs: "preloaded:nope"})}, CellID: "other"})
	f.Add([]byte(`{"lrps":[null],"tasks":[{}]}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`{"lrps":[{"memory_mb":2147483647,"disk_mb":2147483647,"max_pids":2147483647}]}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		ledger := cell.New(cell.Identity{CellID: "cell-1", RootFSProviders: rep.RootFSProviders{"preloaded": rep.NewFixedSetRootFSProvider("cflinuxfs4"), "docker": rep.ArbitraryRootFSProvider{}}},
			rep.NewResources(1024, 2048, 3))
		var accepted rep.Work
		h, err := NewHandler(Config{Ledger: ledger, Stopper: &fakeStopper{}, Now: func() time.Time { return t0 },
			OnReserved: func(ctx context.Context, w rep.Work) { accepted = w }})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/work", bytes.NewReader(body)))
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest:
			if msg := rec.Body.String(); !strings.HasPrefix(msg, "decoding work: ") && !strings.HasPrefix(msg, "invalid work: ") {
				t.Fatalf("400 without saying what was wrong: %q", msg)
			}
			return
		case http.StatusConflict:
			if !strings.Contains(rec.Body.String(), `this is cell "cell-1"`) {
				t.Fatalf("409 without naming the cell: %q", rec.Body)
			}
			return
		default:
			t.Fatalf("POST /work answered %d %q", rec.Code, rec.Body)
		}
		var posted, rejected rep.Work
		if err := json.Unmarshal(body, &posted); err != nil {
			t.Fatalf("the handler took a body json.Unmarshal refuses: %v", err)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &rejected); err != nil {
			t.Fatalf("the rejected work does not decode: %v (%q)", err, rec.Body)
		}
		if len(accepted.LRPs)+len(rejected.LRPs) != len(posted.LRPs) || len(accepted.Tasks)+len(rejected.Tasks) != len(posted.Tasks) {
			t.Fatalf("posted %d LRPs and %d tasks; accepted %d+%d, rejected %d+%d", len(posted.LRPs), len(posted.Tasks),
				len(accepted.LRPs), len(accepted.Tasks), len(rejected.LRPs), len(rejected.Tasks))
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/state", nil))
		var state rep.CellState
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &state) != nil {
			t.Fatalf("GET /state after the work: %d %q", rec.Code, rec.Body)
		}
		if a := state.AvailableResources; a.MemoryMB < 0 || a.DiskMB < 0 || a.Containers < 0 {
			t.Fatalf("free capacity went negative: %+v", a)
		}
		if len(state.LRPs) != len(accepted.LRPs) || len(state.Tasks) != len(accepted.Tasks) {
			t.Fatalf("state holds %d LRPs and %d tasks; %d and %d were accepted", len(state.LRPs), len(state.Tasks), len(accepted.LRPs), len(accepted.Tasks))
		}
	})
}

// FuzzStopCancel: any guids in the stop and cancel routes reach the Stopper
// unchanged (202), or the request is refused without reaching it.
func FuzzStopCancel(f *testing.F) {
	f.Add("pg", "ig", false)
	f.Add("p/g", "i%2Fg", true)
	f.Add("..", ".", false)
	f.Add("", "x", true)
	f.Add("a b?c#d", "é", false)
	f.Fuzz(func(t *testing.T, a, b string, task bool) {
		stopper := &fakeStopper{}
		h, err := NewHandler(Config{Ledger: cell.New(cell.Identity{CellID: "c"}, rep.NewResources(1, 1, 1)), Stopper: stopper})
		if err != nil {
			t.Fatal(err)
		}
		path, want := "/v1/lrps/"+url.PathEscape(a)+"/instances/"+url.PathEscape(b)+"/stop", a+"/"+b
		if task {
			path, want = "/v1/tasks/"+url.PathEscape(a)+"/cancel", a
		}
		req, err := http.NewRequest(http.MethodPost, "http://rep"+path, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := append(stopper.stopped, stopper.canceled...)
		if rec.Code == http.StatusAccepted {
			if len(got) != 1 || got[0] != want {
				t.Fatalf("%s: the stopper got %q; want %q", path, got, want)
			}
			return
		}
		if len(got) != 0 {
			t.Fatalf("%s answered %d but reached the stopper with %q", path, rec.Code, got)
		}
		if rec.Code < 300 {
			t.Fatalf("%s answered %d without reaching the stopper", path, rec.Code)
		}
	})
}
