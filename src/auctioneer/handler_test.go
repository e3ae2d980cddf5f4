package auctioneer

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

// The reference auctioneer's request types, as its client marshals them
// (code.cloudfoundry.org/auctioneer resources.go): untagged embedded rep
// structs, indices as []int, a task start request wrapping rep.Task.
type refLRPStartRequest struct {
	ProcessGuid string `json:"process_guid"`
	Domain      string `json:"domain"`
	Indices     []int  `json:"indices"`
	rep.PlacementConstraint
	rep.Resource
}

type refTaskStartRequest struct {
	rep.Task
}

// The same requests, byte for byte as the reference client sends them.
const (
	refLRPJSON  = `[{"process_guid":"pg-1","domain":"cf-apps","indices":[0,2],"PlacementTags":["gpu"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4","MemoryMB":256,"DiskMB":1024,"MaxPids":100}]`
	refTaskJSON = `[{"TaskGuid":"tg-1","Domain":"cf-tasks","PlacementTags":null,"VolumeDrivers":null,"RootFs":"docker:///busybox","MemoryMB":128,"DiskMB":512,"MaxPids":0,"state":"Invalid","failed":false}]`
)

func TestReferenceJSONShapes(t *testing.T) {
	ref := []refLRPStartRequest{{ProcessGuid: "pg-1", Domain: "cf-apps", Indices: []int{0, 2},
		PlacementConstraint: rep.NewPlacementConstraint("preloaded:cflinuxfs4", []string{"gpu"}, []string{"nfs"}),
		Resource:            rep.NewResource(256, 1024, 100)}}
	if got := mustJSON(t, ref); got != refLRPJSON {
		t.Fatalf("reference LRP JSON changed:\n got %s\nwant %s", got, refLRPJSON)
	}
	var ours []LRPStartRequest
	if err := json.Unmarshal([]byte(refLRPJSON), &ours); err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(t, ours); got != refLRPJSON {
		t.Errorf("our LRPStartRequest does not round-trip the reference JSON:\n got %s\nwant %s", got, refLRPJSON)
	}
	if o := ours[0]; o.ProcessGuid != "pg-1" || o.Domain != "cf-apps" || len(o.Indices) != 2 || o.Indices[1] != 2 ||
		o.RootFs != "preloaded:cflinuxfs4" || o.PlacementTags[0] != "gpu" || o.VolumeDrivers[0] != "nfs" ||
		o.MemoryMB != 256 || o.DiskMB != 1024 || o.MaxPids != 100 {
		t.Errorf("decoded %+v", o)
	}

	refTask := []refTaskStartRequest{{rep.NewTask("tg-1", "cf-tasks", rep.NewResource(128, 512, 0), rep.NewPlacementConstraint("docker:///busybox", nil, nil))}}
	if got := mustJSON(t, refTask); got != refTaskJSON {
		t.Fatalf("reference task JSON changed:\n got %s\nwant %s", got, refTaskJSON)
	}
	var tasks []TaskStartRequest
	if err := json.Unmarshal([]byte(refTaskJSON), &tasks); err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(t, tasks); got != refTaskJSON {
		t.Errorf("our TaskStartRequest does not round-trip the reference JSON:\n got %s\nwant %s", got, refTaskJSON)
	}
}

func TestNewStartRequestsFromModels(t *testing.T) {
	info := &models.DesiredLRPSchedulingInfo{
		DesiredLRPKey:      models.NewDesiredLRPKey("pg", "cf-apps", "log"),
		DesiredLRPResource: models.NewDesiredLRPResource(512, 2048, 64, "preloaded:cflinuxfs4"),
		PlacementTags:      []string{"a"},
		VolumePlacement:    &models.VolumePlacement{DriverNames: []string{"nfs"}},
	}
	got := NewLRPStartRequest(info, []int32{3})
	want := LRPStartRequest{ProcessGuid: "pg", Domain: "cf-apps", Indices: []int32{3},
		PlacementConstraint: rep.NewPlacementConstraint("preloaded:cflinuxfs4", []string{"a"}, []string{"nfs"}),
		Resource:            rep.NewResource(512, 2048, 64)}
	if mustJSON(t, got) != mustJSON(t, want) {
		t.Errorf("NewLRPStartRequest = %+v", got)
	}
	info.VolumePlacement = nil
	if r := NewLRPStartRequest(info, []int32{0}); r.VolumeDrivers != nil {
		t.Errorf("nil volume placement gave drivers %v", r.VolumeDrivers)
	}

	task := &models.Task{TaskGuid: "tg", Domain: "d", TaskDefinition: &models.TaskDefinition{
		RootFs: "docker:///x", MemoryMb: 64, DiskMb: 128, MaxPids: 9, PlacementTags: []string{"p"},
		VolumeMounts: []*models.VolumeMount{{Driver: "smb"}},
	}}
	tr := NewTaskStartRequest(task)
	if tr.TaskGuid != "tg" || tr.Domain != "d" || tr.RootFs != "docker:///x" || tr.MemoryMB != 64 || tr.DiskMB != 128 ||
		tr.MaxPids != 9 || tr.PlacementTags[0] != "p" || tr.VolumeDrivers[0] != "smb" {
		t.Errorf("NewTaskStartRequest = %+v", tr)
	}
	if err := NewTaskStartRequest(&models.Task{TaskGuid: "x"}).Validate(); err == nil {
		t.Error("a task without a definition validated")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandlerAcceptsReferenceRequests(t *testing.T) {
	r := newTestRunner(t, &staticCells{}, newRecordingBBS(), nil)
	srv := httptest.NewServer(NewHandler(r, 0, testLogger()))
	defer srv.Close()

	for _, tc := range []struct{ path, body string }{{LRPsPath, refLRPJSON}, {TasksPath, refTaskJSON}, {LRPsPath, `[]`}, {TasksPath, `null`}} {
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
		{"not json", LRPsPath, `{nope`, 400, "body must be a JSON array of LRP start requests"},
		{"object", LRPsPath, valid, 400, "cannot unmarshal object"},
		{"empty body", TasksPath, ``, 400, "empty body"},
		{"trailing data", LRPsPath, `[` + valid + `] []`, 400, "unexpected data after the JSON array"},
		{"wrong type", LRPsPath, `[{"process_guid":"pg","indices":"0"}]`, 400, "indices"},
		{"no guid", LRPsPath, `[` + valid + `,{"domain":"d","indices":[1],"RootFs":"preloaded:x"}]`, 400, `[1] process_guid "": process_guid is empty`},
		{"no domain", LRPsPath, `[{"process_guid":"pg","indices":[0],"RootFs":"preloaded:x"}]`, 400, "domain is empty"},
		{"no indices", LRPsPath, `[{"process_guid":"pg","domain":"d","RootFs":"preloaded:x"}]`, 400, "indices is empty"},
		{"negative index", LRPsPath, `[{"process_guid":"pg","domain":"d","indices":[-1],"RootFs":"preloaded:x"}]`, 400, "index -1 is negative"},
		{"no rootfs", LRPsPath, `[{"process_guid":"pg","domain":"d","indices":[0]}]`, 400, "RootFs is empty"},
		{"negative memory", LRPsPath, `[{"process_guid":"pg","domain":"d","indices":[0],"RootFs":"x:y","MemoryMB":-5}]`, 400, "must not be negative"},
		{"null entry", TasksPath, `[null]`, 400, "TaskGuid is empty"},
		{"bad task state", TasksPath, `[{"TaskGuid":"t","RootFs":"x:y","state":7}]`, 400, "body must be a JSON array of task start requests"},
		{"too big", TasksPath, `[` + strings.Repeat(`{"TaskGuid":"t","RootFs":"x:y"},`, 200) + `{}]`, 413, "exceeds 4096 bytes"},
	} {
		resp, err := http.Post(srv.URL+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var eb ErrorBody
		err = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != tc.code || err != nil || !strings.Contains(eb.Error, tc.want) {
			t.Errorf("%s: %d %q (%v); want %d and an error containing %q", tc.name, resp.StatusCode, eb.Error, err, tc.code, tc.want)
		}
	}
	if l, tk := r.Queued(); l+tk != 0 {
		t.Errorf("bad requests queued %d instances and %d tasks", l, tk)
	}

	resp, err := http.Get(srv.URL + LRPsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d, want 405", LRPsPath, resp.StatusCode)
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
	r.AddLRPs([]LRPStartRequest{lrpStart("a", 1, 0, 1), lrpStart("a", 2, 1, 2), lrpStart("b", 1, 0)})
	r.AddTasks([]TaskStartRequest{taskStart("t", 1), taskStart("t", 9)})
	b := r.queue.drain()
	if len(b.LRPs) != 4 || len(b.Tasks) != 1 || b.LRPs[1].Resource.MemoryMB != 2 || b.Tasks[0].Resource.MemoryMB != 9 {
		t.Errorf("drained %+v", b)
	}
}
