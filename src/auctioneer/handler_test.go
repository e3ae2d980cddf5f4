package auctioneer

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/auctionapi"
	"github.com/diego-go/diego/src/auctionapi/reftest"
)

func TestHandlerAcceptsReferenceRequests(t *testing.T) {
	r := newTestRunner(t, &staticCells{}, newRecordingBBS(), nil)
	srv := httptest.NewServer(NewHandler(r, 0, testLogger()))
	defer srv.Close()

	for _, tc := range []struct{ path, body string }{{auctionapi.LRPsPath, reftest.LRPsJSON}, {auctionapi.TasksPath, reftest.TasksJSON}, {auctionapi.LRPsPath, `[]`}, {auctionapi.TasksPath, `null`}} {
		resp, err := http.Post(srv.URL+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || string(body) != "{}" {
			t.Errorf("POST %s %s: %d %s; want 202 {}", tc.path, tc.body, resp.StatusCode, body)
		}
	}
	if l, tk := r.Queued(); l != 2 || tk != 1 {
		t.Errorf("queued %d instances and %d tasks; want 2 and 1", l, tk)
	}
}

func TestHandlerRefusesBadInput(t *testing.T) {
	r := newTestRunner(t, &staticCells{}, newRecordingBBS(), nil)
	srv := httptest.NewServer(NewHandler(r, 4096, testLogger()))
	defer srv.Close()

	valid := `{"process_guid":"pg","domain":"d","indices":[0],"RootFs":"preloaded:x","MemoryMB":1}`
	for _, tc := range []struct {
		name, path, body string
		code             int
		want             string
	}{
		{"not json", auctionapi.LRPsPath, `{nope`, 400, "body must be a JSON array of LRP start requests"},
		{"object", auctionapi.LRPsPath, valid, 400, "cannot unmarshal object"},
		{"empty body", auctionapi.TasksPath, ``, 400, "empty body"},
		{"trailing data", auctionapi.LRPsPath, `[` + valid + `] []`, 400, "unexpected data after the JSON array"},
		{"wrong type", auctionapi.LRPsPath, `[{"process_guid":"pg","indices":"0"}]`, 400, "indices"},
		{"no guid", auctionapi.LRPsPath, `[` + valid + `,{"domain":"d","indices":[1],"RootFs":"preloaded:x"}]`, 400, `[1] process_guid "": process_guid is empty`},
		{"no domain", auctionapi.LRPsPath, `[{"process_guid":"pg","indices":[0],"RootFs":"preloaded:x"}]`, 400, "domain is empty"},
		{"no indices", auctionapi.LRPsPath, `[{"process_guid":"pg","domain":"d","RootFs":"preloaded:x"}]`, 400, "indices is empty"},
		{"negative index", auctionapi.LRPsPath, `[{"process_guid":"pg","domain":"d","indices":[-1],"RootFs":"preloaded:x"}]`, 400, "index -1 is negative"},
		{"no rootfs", auctionapi.LRPsPath, `[{"process_guid":"pg","domain":"d","indices":[0]}]`, 400, "RootFs is empty"},
		{"negative memory", auctionapi.LRPsPath, `[{"process_guid":"pg","domain":"d","indices":[0],"RootFs":"x:y","MemoryMB":-5}]`, 400, "must not be negative"},
		{"null entry", auctionapi.TasksPath, `[null]`, 400, "TaskGuid is empty"},
		{"bad task state", auctionapi.TasksPath, `[{"TaskGuid":"t","RootFs":"x:y","state":7}]`, 400, "body must be a JSON array of task start requests"},
		{"too big", auctionapi.TasksPath, `[` + strings.Repeat(`{"TaskGuid":"t","RootFs":"x:y"},`, 200) + `{}]`, 413, "exceeds 4096 bytes"},
	} {
		resp, err := http.Post(srv.URL+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var eb auctionapi.ErrorBody
		err = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != tc.code || err != nil || !strings.Contains(eb.Error, tc.want) {
			t.Errorf("%s: %d %q (%v); want %d and an error containing %q", tc.name, resp.StatusCode, eb.Error, err, tc.code, tc.want)
		}
	}
	if l, tk := r.Queued(); l+tk != 0 {
		t.Errorf("bad requests queued %d instances and %d tasks", l, tk)
	}

	resp, err := http.Get(srv.URL + auctionapi.LRPsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d, want 405", auctionapi.LRPsPath, resp.StatusCode)
	}
	resp, err = http.Post(srv.URL+"/v1/nope", "application/json", bytes.NewReader([]byte("[]")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", resp.StatusCode)
	}
}

func TestQueueDeduplicates(t *testing.T) {
	r := newTestRunner(t, &staticCells{}, newRecordingBBS(), nil)
	r.AddLRPs([]auctionapi.LRPStartRequest{lrpStart("a", 1, 0, 1), lrpStart("a", 2, 1, 2), lrpStart("b", 1, 0)})
	r.AddTasks([]auctionapi.TaskStartRequest{taskStart("t", 1), taskStart("t", 9)})
	b := r.queue.drain()
	if len(b.LRPs) != 4 || len(b.Tasks) != 1 || b.LRPs[1].Resource.MemoryMB != 2 || b.Tasks[0].Resource.MemoryMB != 9 {
		t.Errorf("drained %+v", b)
	}
}
