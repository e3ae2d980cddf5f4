package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/reptest"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

type fakeStopper struct {
	mu       sync.Mutex
	stopped  []string
	canceled []string
	err      error
}

func (f *fakeStopper) StopLRPInstance(ctx context.Context, pg, ig string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, pg+"/"+ig)
	return f.err
}

func (f *fakeStopper) CancelTask(ctx context.Context, tg string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canceled = append(f.canceled, tg)
	return f.err
}

type fixture struct {
	ledger  *cell.Ledger
	stopper *fakeStopper
	srv     *httptest.Server
	client  rep.Client
	raw     *http.Client // the same client certificate, for requests the reference client cannot make
	mu      sync.Mutex
	onRes   []rep.Work
}

// newFixture serves the handler over mutual TLS and returns a reference rep client for it.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	mtls := testutil.MutualTLS(t)
	f := &fixture{
		ledger: cell.New(cell.Identity{
			CellID: "cell-1", CellIndex: 3, Zone: "z1",
			RootFSProviders: rep.RootFSProviders{"preloaded": rep.NewFixedSetRootFSProvider("cflinuxfs4"), "docker": rep.ArbitraryRootFSProvider{}},
			PlacementTags:   []string{"gpu"}, OptionalPlacementTags: []string{"ssd"}, VolumeDrivers: []string{"nfs"},
		}, rep.NewResources(1024, 2048, 3)),
		stopper: &fakeStopper{},
	}
	h, err := NewHandler(Config{Ledger: f.ledger, Stopper: f.stopper, Now: func() time.Time { return t0 },
		OnReserved: func(ctx context.Context, w rep.Work) { f.mu.Lock(); f.onRes = append(f.onRes, w); f.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(h)
	f.srv.TLS = mtls.Server
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)

	f.client = reptest.Client(t, mtls.Bundle, f.srv.URL, 5*time.Second)
	f.raw = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: mtls.Client}}
	t.Cleanup(f.raw.CloseIdleConnections)
	return f
}

func lrp(guid string, mem int32) rep.LRP {
	return rep.NewLRP(guid, models.NewActualLRPKey("pg-"+guid, 2, "d"), rep.NewResource(mem, 10, 5),
		rep.NewPlacementConstraint("preloaded:cflinuxfs4", []string{"gpu"}, nil))
}

func TestStateRoundTrip(t *testing.T) {
	f := newFixture(t)
	logger := lager.NewLogger("test")
	f.ledger.Reserve(rep.Work{LRPs: []rep.LRP{lrp("a", 256)}, Tasks: []rep.Task{rep.NewTask("t1", "d", rep.NewResource(128, 20, 1), rep.PlacementConstraint{RootFs: "docker:///x"})}}, t0)
	if err := f.ledger.Transition(cell.KindLRP, "a", cell.Running); err != nil {
		t.Fatal(err)
	}
	got, err := f.client.State(logger)
	if err != nil {
		t.Fatal(err)
	}
	want := f.ledger.State(t0)
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("state round trip:\n got %+v\nwant %+v", got, want)
	}
	if got.AvailableResources != rep.NewResources(640, 2018, 1) || got.StartingContainerCount != 1 ||
		got.CellID != "cell-1" || got.CellIndex != 3 || got.Zone != "z1" || !got.MatchRootFS("docker:///y") ||
		!got.MatchRootFS("preloaded:cflinuxfs4") || got.LRPs[0].State != "RUNNING" || got.LRPs[0].ProcessGuid != "pg-a" {
		t.Errorf("decoded state = %+v", got)
	}
}

func TestPerform(t *testing.T) {
	f := newFixture(t)
	logger := lager.NewLogger("test")
	work := rep.Work{
		CellID: "cell-1",
		LRPs:   []rep.LRP{lrp("a", 512), lrp("b", 512), lrp("c", 512)},
		Tasks:  []rep.Task{rep.NewTask("t1", "d", rep.NewResource(1, 1, 1), rep.PlacementConstraint{})},
	}
	rejected, err := f.client.Perform(logger, work)
	if err != nil {
		t.Fatal(err)
	}
	// Memory fits two LRPs; the third LRP and the task (no container left) are rejected.
	if len(rejected.LRPs) != 1 || rejected.LRPs[0].InstanceGUID != "c" || len(rejected.Tasks) != 1 || rejected.Tasks[0].TaskGuid != "t1" {
		t.Errorf("rejected = %+v", rejected)
	}
	if _, ok := f.ledger.Get(cell.KindLRP, "b"); !ok {
		t.Error("b not reserved")
	}
	if len(f.onRes) != 1 || len(f.onRes[0].LRPs) != 2 {
		t.Errorf("OnReserved got %+v", f.onRes)
	}
	// The same work again is all duplicates or misfits.
	rejected, err = f.client.Perform(logger, work)
	if err != nil || len(rejected.LRPs) != 3 || len(rejected.Tasks) != 1 {
		t.Errorf("second perform = %+v, %v", rejected, err)
	}
	// Work addressed to another cell is refused.
	if _, err := f.client.Perform(logger, rep.Work{CellID: "other", LRPs: []rep.LRP{lrp("z", 1)}}); err == nil {
		t.Error("work for another cell accepted")
	}
	if _, ok := f.ledger.Get(cell.KindLRP, "z"); ok {
		t.Error("work for another cell reserved")
	}
}

func TestStopAndCancel(t *testing.T) {
	f := newFixture(t)
	logger := lager.NewLogger("test")
	key := models.NewActualLRPKey("pg", 1, "d")
	ikey := models.NewActualLRPInstanceKey("ig", "cell-1")
	if err := f.client.StopLRPInstance(logger, key, ikey); err != nil {
		t.Fatal(err)
	}
	if err := f.client.CancelTask(logger, "tg"); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(f.stopper.stopped) != "[pg/ig]" || fmt.Sprint(f.stopper.canceled) != "[tg]" {
		t.Errorf("stopped %v canceled %v", f.stopper.stopped, f.stopper.canceled)
	}
	f.stopper.err = errors.New("boom")
	if err := f.client.CancelTask(logger, "tg"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("failing cancel: %v", err)
	}
	f.stopper.err = fmt.Errorf("no container: %w", ErrNotFound)
	if err := f.client.StopLRPInstance(logger, key, ikey); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing stop: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	h, _ := NewHandler(Config{Ledger: f.ledger, Stopper: f.stopper})
	for _, tc := range []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", "/work", `{"LRPs": [`, http.StatusBadRequest, "decoding work"},
		{"POST", "/work", `not json`, http.StatusBadRequest, "decoding work: invalid character"},
		{"POST", "/work", `{"LRPs": "x"}`, http.StatusBadRequest, "decoding work"},
		{"POST", "/work", `{} {}`, http.StatusBadRequest, "trailing data"},
		{"POST", "/work", `{"cell_id":"nope"}`, http.StatusConflict, `work is for cell "nope"`},
		// negative resources would grow the cell's free capacity
		{"POST", "/work", `{"LRPs":[{"process_guid":"p","index":0,"domain":"d","instance_guid":"i","MemoryMB":-512,"DiskMB":10,"RootFs":"preloaded:cflinuxfs4"}]}`,
			http.StatusBadRequest, "lrps[0] (p index 0): memory_mb -512 must not be negative"},
		{"POST", "/work", `{"Tasks":[{"TaskGuid":"t","Domain":"d","MemoryMB":1,"DiskMB":-1,"RootFs":"preloaded:cflinuxfs4"}]}`,
			http.StatusBadRequest, "tasks[0] (t): disk_mb -1 must not be negative"},
		{"GET", "/work", ``, http.StatusMethodNotAllowed, ""},
		{"POST", "/state", ``, http.StatusMethodNotAllowed, ""},
		{"GET", "/nope", ``, http.StatusNotFound, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.msg) {
			t.Errorf("%s %s %q: %d %q, want %d containing %q", tc.method, tc.path, tc.body, rec.Code, rec.Body.String(), tc.status, tc.msg)
		}
	}
	if n := len(f.ledger.Reservations()); n != 0 {
		t.Errorf("%d reservations after bad input", n)
	}
}

func TestNewHandlerRequiresDeps(t *testing.T) {
	if _, err := NewHandler(Config{Stopper: &fakeStopper{}}); err == nil {
		t.Error("nil ledger accepted")
	}
	if _, err := NewHandler(Config{Ledger: cell.New(cell.Identity{}, rep.Resources{})}); err == nil {
		t.Error("nil stopper accepted")
	}
	if _, err := NewLocalHandler(nil); err == nil {
		t.Error("nil evacuator accepted")
	}
}

type evacuatorFunc func(ctx context.Context)

func (f evacuatorFunc) Evacuate(ctx context.Context) { f(ctx) }

func TestLocalHandler(t *testing.T) {
	calls := 0
	h, err := NewLocalHandler(evacuatorFunc(func(ctx context.Context) { calls++ }))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("ping = %d", resp.StatusCode)
	}
	resp, err = http.Post(srv.URL+"/evacuate", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || strings.TrimSpace(string(body)) != `{"ping_path":"/ping"}` || calls != 1 {
		t.Errorf("evacuate = %d %s, calls %d", resp.StatusCode, body, calls)
	}
	resp, err = http.Get(srv.URL + "/state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("local /state = %d, want 404", resp.StatusCode)
	}
}

// /state is kept encoded between requests, and made again after any change.
func TestStateFollowsChanges(t *testing.T) {
	f := newFixture(t)
	logger := lager.NewLogger("test")
	check := func(what string) {
		t.Helper()
		got, err := f.client.State(logger)
		if err != nil {
			t.Fatal(err)
		}
		if want := f.ledger.State(t0); fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	check("empty")
	check("empty again")
	f.ledger.Reserve(rep.Work{LRPs: []rep.LRP{lrp("a", 256)}}, t0)
	check("reserved")
	if err := f.ledger.Transition(cell.KindLRP, "a", cell.Running); err != nil {
		t.Fatal(err)
	}
	check("running")
	f.ledger.SetEvacuating(true)
	check("evacuating")
	if _, err := f.ledger.Release(cell.KindLRP, "a"); err != nil {
		t.Fatal(err)
	}
	check("released")
}
