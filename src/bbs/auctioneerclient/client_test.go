package auctioneerclient

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/auctionapi/reftest"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/internal/testutil"
)

type recorded struct {
	path, contentType string
	body              []byte
}

// server is an mTLS test server that records requests and answers with
// handle (202 by default).
func server(t *testing.T, handle http.HandlerFunc) (*httptest.Server, *Client, func() []recorded) {
	t.Helper()
	mtls := testutil.MutualTLS(t)
	var mu sync.Mutex
	var reqs []recorded
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, recorded{r.URL.Path, r.Header.Get("Content-Type"), body})
		mu.Unlock()
		if handle != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			handle(w, r)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("{}"))
	}))
	srv.TLS = mtls.Server
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c, err := New(Config{Address: strings.TrimPrefix(srv.URL, "https://"), TLS: mtls.Client, Timeout: 5 * time.Second,
		RetryWait: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, func() []recorded { mu.Lock(); defer mu.Unlock(); return append([]recorded(nil), reqs...) }
}

func schedulingInfo(guid string) *models.DesiredLRPSchedulingInfo {
	return &models.DesiredLRPSchedulingInfo{
		DesiredLRPKey:      models.NewDesiredLRPKey(guid, "cf-apps", "log"),
		DesiredLRPResource: models.NewDesiredLRPResource(512, 1024, 200, "preloaded:cflinuxfs4"),
		PlacementTags:      []string{"blue"},
		VolumePlacement:    &models.VolumePlacement{DriverNames: []string{"nfs"}},
	}
}

func TestRequestLRPAuctionsSendsReferenceJSON(t *testing.T) {
	_, c, reqs := server(t, nil)
	err := c.RequestLRPAuctions(context.Background(), []service.LRPStartRequest{{SchedulingInfo: schedulingInfo("pg-1"), Indices: []int32{0, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	got := reqs()
	if len(got) != 1 || got[0].path != "/v1/lrps" || got[0].contentType != "application/json" {
		t.Fatalf("requests = %+v", got)
	}
	var starts []reftest.LRPStartRequest
	if err := json.Unmarshal(got[0].body, &starts); err != nil {
		t.Fatal(err)
	}
	want := reftest.LRPStartRequest{ProcessGuid: "pg-1", Domain: "cf-apps", Indices: []int{0, 3},
		PlacementConstraint: rep.NewPlacementConstraint("preloaded:cflinuxfs4", []string{"blue"}, []string{"nfs"}),
		Resource:            rep.NewResource(512, 1024, 200)}
	wantJSON, _ := json.Marshal([]reftest.LRPStartRequest{want})
	if string(got[0].body) != string(wantJSON) {
		t.Errorf("body\n got %s\nwant %s", got[0].body, wantJSON)
	}
}

func TestRequestTaskAuctionsSendsReferenceJSON(t *testing.T) {
	_, c, reqs := server(t, nil)
	task := &models.Task{TaskGuid: "tg-1", Domain: "cf-tasks", TaskDefinition: &models.TaskDefinition{
		RootFs: "docker:///busybox", MemoryMb: 128, DiskMb: 256, MaxPids: 10, PlacementTags: []string{"p"},
		VolumeMounts: []*models.VolumeMount{{Driver: "smb"}},
	}}
	if err := c.RequestTaskAuctions(context.Background(), []*models.Task{task}); err != nil {
		t.Fatal(err)
	}
	got := reqs()
	if len(got) != 1 || got[0].path != "/v1/tasks" {
		t.Fatalf("requests = %+v", got)
	}
	want, _ := json.Marshal([]reftest.TaskStartRequest{{Task: rep.NewTask("tg-1", "cf-tasks", rep.NewResource(128, 256, 10),
		rep.NewPlacementConstraint("docker:///busybox", []string{"p"}, []string{"smb"}))}})
	if string(got[0].body) != string(want) {
		t.Errorf("body\n got %s\nwant %s", got[0].body, want)
	}
}

func TestSplitsLargeCallsAndSkipsInvalid(t *testing.T) {
	_, c, reqs := server(t, nil)
	c.cfg.MaxPerRequest = 2
	var starts []service.LRPStartRequest
	for _, g := range []string{"a", "b", "c", "d", "e"} {
		starts = append(starts, service.LRPStartRequest{SchedulingInfo: schedulingInfo(g), Indices: []int32{0}})
	}
	starts = append(starts, service.LRPStartRequest{SchedulingInfo: schedulingInfo("no-indices")}, service.LRPStartRequest{})
	err := c.RequestLRPAuctions(context.Background(), starts)
	if err == nil || !strings.Contains(err.Error(), "not sending 2 invalid") || !strings.Contains(err.Error(), `"no-indices": indices is empty`) {
		t.Errorf("err = %v", err)
	}
	got := reqs()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3 (5 valid starts, 2 per request)", len(got))
	}
	n := 0
	for _, r := range got {
		var s []reftest.LRPStartRequest
		if err := json.Unmarshal(r.body, &s); err != nil {
			t.Fatal(err)
		}
		n += len(s)
	}
	if n != 5 {
		t.Errorf("%d starts sent, want 5", n)
	}
}

func TestRefusalIsAnErrorAndNotRetried(t *testing.T) {
	_, c, reqs := server(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid LRP start requests: nope"}`))
	})
	err := c.RequestLRPAuctions(context.Background(), []service.LRPStartRequest{{SchedulingInfo: schedulingInfo("a"), Indices: []int32{0}}})
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request") || !strings.Contains(err.Error(), "invalid LRP start requests: nope") {
		t.Errorf("err = %v", err)
	}
	if n := len(reqs()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestRetriesWhenNoAnswer(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	_, c, _ := server(t, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // no answer
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	if err := c.RequestTaskAuctions(context.Background(), []*models.Task{{TaskGuid: "t", TaskDefinition: &models.TaskDefinition{RootFs: "docker:///x"}}}); err != nil {
		t.Fatalf("err = %v after a dropped connection; want the retry to succeed", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("%d calls, want 2", calls)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{Address: "x:1"}); err == nil {
		t.Error("no TLS accepted")
	}
	if _, err := New(Config{TLS: nil, Address: ""}); err == nil {
		t.Error("no address accepted")
	}
}
