package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/events"
	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
)

// fuzzRoutes are the RPC routes whose bodies the fuzzer posts, each with a
// request that decodes its body (the event streams are left out: they
// hold the request open).
var fuzzRoutes = []struct {
	path string
	req  func() proto.Message
}{
	{"/v1/domains/upsert", func() proto.Message { return &models.UpsertDomainRequest{} }},
	{"/v1/actual_lrps/list", func() proto.Message { return &models.ActualLRPsRequest{} }},
	{"/v1/actual_lrps/claim", func() proto.Message { return &models.ClaimActualLRPRequest{} }},
	{"/v1/actual_lrps/start", func() proto.Message { return &models.StartActualLRPRequest{} }},
	{"/v1/actual_lrps/crash", func() proto.Message { return &models.CrashActualLRPRequest{} }},
	{"/v1/actual_lrps/fail", func() proto.Message { return &models.FailActualLRPRequest{} }},
	{"/v1/actual_lrps/remove", func() proto.Message { return &models.RemoveActualLRPRequest{} }},
	{"/v1/actual_lrps/retire", func() proto.Message { return &models.RetireActualLRPRequest{} }},
	{"/v1/actual_lrps/remove_evacuating", func() proto.Message { return &models.RemoveEvacuatingActualLRPRequest{} }},
	{"/v1/actual_lrps/evacuate_claimed", func() proto.Message { return &models.EvacuateClaimedActualLRPRequest{} }},
	{"/v1/actual_lrps/evacuate_crashed", func() proto.Message { return &models.EvacuateCrashedActualLRPRequest{} }},
	{"/v1/actual_lrps/evacuate_stopped", func() proto.Message { return &models.EvacuateStoppedActualLRPRequest{} }},
	{"/v1/actual_lrps/evacuate_running", func() proto.Message { return &models.EvacuateRunningActualLRPRequest{} }},
	{"/v1/actual_lrp_groups/list_by_process_guid", func() proto.Message { return &models.ActualLRPGroupsByProcessGuidRequest{} }},
	{"/v1/actual_lrp_groups/get_by_process_guid_and_index", func() proto.Message { return &models.ActualLRPGroupByProcessGuidAndIndexRequest{} }},
	{"/v1/desired_lrps/list.r3", func() proto.Message { return &models.DesiredLRPsRequest{} }},
	{"/v1/desired_lrps/get_by_process_guid.r3", func() proto.Message { return &models.DesiredLRPByProcessGuidRequest{} }},
	{"/v1/desired_lrp_scheduling_infos/list", func() proto.Message { return &models.DesiredLRPsRequest{} }},
	{"/v1/desired_lrp_routing_infos/list", func() proto.Message { return &models.DesiredLRPsRequest{} }},
	{"/v1/desired_lrp/desire.r2", func() proto.Message { return &models.DesireLRPRequest{} }},
	{"/v1/desired_lrp/update", func() proto.Message { return &models.UpdateDesiredLRPRequest{} }},
	{"/v1/desired_lrp/remove", func() proto.Message { return &models.RemoveDesiredLRPRequest{} }},
	{"/v1/tasks/list.r3", func() proto.Message { return &models.TasksRequest{} }},
	{"/v1/tasks/get_by_task_guid.r3", func() proto.Message { return &models.TaskByGuidRequest{} }},
	{"/v1/tasks/desire.r2", func() proto.Message { return &models.DesireTaskRequest{} }},
	{"/v1/tasks/start", func() proto.Message { return &models.StartTaskRequest{} }},
	{"/v1/tasks/cancel", func() proto.Message { return &models.TaskGuidRequest{} }},
	{"/v1/tasks/fail", func() proto.Message { return &models.FailTaskRequest{} }},
	{"/v1/tasks/reject", func() proto.Message { return &models.RejectTaskRequest{} }},
	{"/v1/tasks/complete", func() proto.Message { return &models.CompleteTaskRequest{} }},
	{"/v1/tasks/resolving", func() proto.Message { return &models.TaskGuidRequest{} }},
	{"/v1/tasks/delete", func() proto.Message { return &models.TaskGuidRequest{} }},
}

// panicLog records whether the server logged a recovered handler panic.
type panicLog struct {
	slog.Handler
	panics *atomic.Value
}

func (p panicLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "handler panic" {
		var detail strings.Builder
		r.Attrs(func(a slog.Attr) bool { detail.WriteString(a.String() + "\n"); return true })
		p.panics.Store(detail.String())
	}
	return nil
}

func (p panicLog) Enabled(context.Context, slog.Level) bool { return true }

// FuzzRoutes: any body POSTed to any RPC route (the first byte picks it)
// through the real handler, service and a SQLite store: no handler panics
// (the server would recover it into an UnknownError), every answer is 200
// with a protobuf response whose field 1 decodes as an error or is empty,
// and a body that does not decode or validate is answered InvalidRequest.
func FuzzRoutes(f *testing.F) {
	seed := func(i int, m proto.Message) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(i)}, b...))
	}
	for i, r := range fuzzRoutes {
		seed(i, r.req())
	}
	lrp := &models.DesiredLRP{ProcessGuid: "pg", Domain: "d", RootFs: "preloaded:x", Instances: 2,
		Action: models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"})}
	task := &models.TaskDefinition{RootFs: "preloaded:x", Action: models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"})}
	key := models.NewActualLRPKey("pg", 0, "d")
	inst := models.NewActualLRPInstanceKey("ig", "cell-1")
	for i, r := range fuzzRoutes {
		switch r.req().(type) {
		case *models.DesireLRPRequest:
			seed(i, &models.DesireLRPRequest{DesiredLrp: lrp})
		case *models.DesireTaskRequest:
			seed(i, &models.DesireTaskRequest{TaskGuid: "t", Domain: "d", TaskDefinition: task})
		case *models.ClaimActualLRPRequest:
			seed(i, &models.ClaimActualLRPRequest{ProcessGuid: "pg", Index: 0, ActualLrpInstanceKey: &inst})
		case *models.StartActualLRPRequest:
			seed(i, &models.StartActualLRPRequest{ActualLrpKey: &key, ActualLrpInstanceKey: &inst, ActualLrpNetInfo: &models.ActualLRPNetInfo{Address: "10.0.0.1"}})
		case *models.UpdateDesiredLRPRequest:
			n := int32(3)
			seed(i, &models.UpdateDesiredLRPRequest{ProcessGuid: "pg", Update: &models.DesiredLRPUpdate{OptionalInstances: &models.DesiredLRPUpdate_Instances{Instances: n}}})
		case *models.StartTaskRequest:
			seed(i, &models.StartTaskRequest{TaskGuid: "t", CellId: "cell-1"})
		}
	}

	ctx := context.Background()
	ring, err := keyring.NewRing(map[string]string{"k": "fuzz passphrase"}, "k")
	if err != nil {
		f.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, sqlstore.Config{Driver: "sqlite", DSN: filepath.Join(f.TempDir(), "bbs.sqlite")}, ring, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	panics := new(atomic.Value)
	log := slog.New(panicLog{Handler: slog.DiscardHandler, panics: panics})
	lrpHub, taskHub := events.NewHub(16, log), events.NewHub(16, log)
	noCallbacks := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("fuzzing: no callbacks")
	})}
	svc, err := service.New(service.Config{Store: st, LRPEvents: lrpHub, TaskEvents: taskHub, Logger: log,
		Callbacks: service.NewCallbackWorkers(1, 16, noCallbacks, log)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(svc.Close)
	srv, err := New(Config{Service: svc, LRPHub: lrpHub, TaskHub: taskHub, Logger: log, MaxBodyBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		route := fuzzRoutes[int(data[0])%len(fuzzRoutes)]
		body := data[1:]
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, route.path, bytes.NewReader(body)))
		if p := panics.Swap(""); p != nil && p != "" {
			t.Fatalf("%s panicked: %s", route.path, p)
		}
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != ProtoContentType {
			t.Fatalf("%s answered %d %q", route.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		var resp models.UpsertDomainResponse // field 1 is the error in every response
		if err := proto.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("%s: the response's error field does not decode: %v", route.path, err)
		}
		req := route.req()
		if proto.Unmarshal(body, req) != nil || validate(req) != nil {
			if resp.Error == nil || resp.Error.Type != models.Error_InvalidRequest || resp.Error.Message == "" {
				t.Fatalf("%s: a body that does not decode or validate was answered %+v", route.path, resp.Error)
			}
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
