package auctioneer

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/auction"
	"github.com/diego-go/diego/src/auctionapi"
	"github.com/diego-go/diego/src/auctionapi/reftest"
)

// fuzzMaxBody is the body limit of the fuzzed handler: small, so the
// fuzzer reaches the 413 answer.
const fuzzMaxBody = 4096

// FuzzStartRequests: any body POSTed to /v1/lrps or /v1/tasks through the
// real handler: 202 {} with every distinct instance (process guid, index)
// or task guid queued once; or 400/413 with a JSON error saying what was
// wrong and nothing queued.
func FuzzStartRequests(f *testing.F) {
	for _, s := range []string{reftest.LRPsJSON, `[]`, `null`, `{nope`, `[{"process_guid":"pg","domain":"d","indices":[0,0,1],"RootFs":"preloaded:x"}]`,
		`[{"process_guid":"pg","domain":"d","indices":[-1],"RootFs":"preloaded:x","MemoryMB":-5}]`, `[null]`, `[] []`} {
		f.Add(false, []byte(s))
	}
	for _, s := range []string{reftest.TasksJSON, `[{"TaskGuid":"t","RootFs":"x:y"},{"TaskGuid":"t","RootFs":"x:y"}]`, `[{"TaskGuid":"t","RootFs":"x:y","state":7}]`,
		`[` + strings.Repeat(`{"TaskGuid":"t","RootFs":"x:y"},`, 200) + `{}]`} {
		f.Add(true, []byte(s))
	}
	reps := repFactory(f)

	f.Fuzz(func(t *testing.T, tasks bool, body []byte) {
		r, err := NewRunner(RunnerConfig{Cells: &staticCells{}, Reps: reps, BBS: newRecordingBBS(), Auction: auction.DefaultConfig(), BatchInterval: time.Millisecond, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		path := auctionapi.LRPsPath
		if tasks {
			path = auctionapi.TasksPath
		}
		rec := httptest.NewRecorder()
		NewHandler(r, fuzzMaxBody, testLogger()).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		queuedLRPs, queuedTasks := r.Queued()
		if rec.Code != http.StatusAccepted {
			var eb auctionapi.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == "" {
				t.Fatalf("%d without a JSON error: %q", rec.Code, rec.Body)
			}
			if rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("answered %d: %s", rec.Code, eb.Error)
			}
			if rec.Code == http.StatusRequestEntityTooLarge && len(body) <= fuzzMaxBody {
				t.Fatalf("413 for a %d-byte body", len(body))
			}
			if queuedLRPs+queuedTasks != 0 {
				t.Fatalf("refused with %d (%s) but queued %d instances and %d tasks", rec.Code, eb.Error, queuedLRPs, queuedTasks)
			}
			return
		}
		if rec.Body.String() != "{}" {
			t.Fatalf("202 with body %q", rec.Body)
		}
		if tasks {
			var starts []auctionapi.TaskStartRequest
			if err := json.Unmarshal(body, &starts); err != nil {
				t.Fatalf("accepted a body json.Unmarshal refuses: %v", err)
			}
			guids := map[string]bool{}
			for _, s := range starts {
				guids[s.TaskGuid] = true
			}
			if queuedLRPs != 0 || queuedTasks != len(guids) {
				t.Fatalf("%d distinct tasks accepted; queued %d instances and %d tasks", len(guids), queuedLRPs, queuedTasks)
			}
			return
		}
		var starts []auctionapi.LRPStartRequest
		if err := json.Unmarshal(body, &starts); err != nil {
			t.Fatalf("accepted a body json.Unmarshal refuses: %v", err)
		}
		type instance struct {
			guid  string
			index int32
		}
		distinct := map[instance]bool{}
		for _, s := range starts {
			for _, i := range s.Indices {
				distinct[instance{s.ProcessGuid, i}] = true
			}
		}
		if queuedTasks != 0 || queuedLRPs != len(distinct) {
			t.Fatalf("%d distinct instances accepted; queued %d instances and %d tasks", len(distinct), queuedLRPs, queuedTasks)
		}
	})
}
