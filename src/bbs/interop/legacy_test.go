package interop_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"
	"github.com/vito/go-sse/sse"

	"github.com/diego-go/diego/src/bbs/bbstest"
)

// The deprecated routes the reference still serves, driven through the
// reference client where it has a call for them and over raw HTTP where it
// does not.

func runLegacySuite(t *testing.T, h *bbstest.Harness) {
	t.Run("actual LRP groups", func(t *testing.T) { testActualLRPGroups(t, h.Client) })
	t.Run("group events", func(t *testing.T) { testGroupEvents(t, h.Client) })
	t.Run("r2 reads and r0 streams", func(t *testing.T) { testOlderFormats(t, h) })
}

func testActualLRPGroups(t *testing.T, c bbs.InternalClient) {
	key, ik, net := startedInstance(t, c, "grp", "cell-grp", 2)
	keep, err := c.EvacuateRunningActualLRP(logger, "", &key, &ik, &net, nil, nil, true, "")
	must(t, err)
	if !keep {
		t.Fatal("evacuating a running instance: keep container false")
	}

	groups, err := c.ActualLRPGroupsByProcessGuid(logger, "", "grp")
	must(t, err)
	if len(groups) != 2 {
		t.Fatalf("groups = %v", groups)
	}
	byIndex := map[int32]*models.ActualLRPGroup{} //lint:ignore SA1019 the deprecated API under test
	for _, g := range groups {
		lrp, _, err := g.Resolve()
		must(t, err)
		byIndex[lrp.Index] = g
	}
	g0, g1 := byIndex[0], byIndex[1]
	if g0 == nil || g0.Instance == nil || g0.Instance.State != models.ActualLRPStateUnclaimed ||
		g0.Evacuating == nil || g0.Evacuating.State != models.ActualLRPStateRunning || g0.Evacuating.CellId != "cell-grp" {
		t.Fatalf("group 0 = %+v", g0)
	}
	if g1 == nil || g1.Instance == nil || g1.Instance.State != models.ActualLRPStateUnclaimed || g1.Evacuating != nil {
		t.Fatalf("group 1 = %+v", g1)
	}

	// the cell filter applies to rows: only the evacuating copy is on the cell
	onCell, err := c.ActualLRPGroups(logger, "", models.ActualLRPFilter{CellID: "cell-grp"})
	must(t, err)
	if len(onCell) != 1 || onCell[0].Instance != nil || onCell[0].Evacuating == nil {
		t.Fatalf("groups on cell = %+v", onCell)
	}
	byDomain, err := c.ActualLRPGroups(logger, "", models.ActualLRPFilter{Domain: "grp"})
	must(t, err)
	if len(byDomain) != 2 {
		t.Fatalf("groups of domain = %+v", byDomain)
	}

	one, err := c.ActualLRPGroupByProcessGuidAndIndex(logger, "", "grp", 0)
	must(t, err)
	if !one.Equal(g0) {
		t.Fatalf("group by index = %+v, want %+v", one, g0)
	}
	_, err = c.ActualLRPGroupByProcessGuidAndIndex(logger, "", "grp", 7)
	wantErr(t, err, models.Error_ResourceNotFound)
	_, err = c.ActualLRPGroupByProcessGuidAndIndex(logger, "", "", 0)
	wantErr(t, err, models.Error_InvalidRequest)
	must(t, c.RemoveDesiredLRP(logger, "", "grp"))
}

func testGroupEvents(t *testing.T, c bbs.InternalClient) {
	all, cellOnly := lifecycleEvents(t, c, "gev", "cell-gev", func(cell string) (events.EventSource, error) {
		return c.SubscribeToEventsByCellID(logger, cell) //lint:ignore SA1019 the deprecated stream under test
	})

	//lint:ignore SA1019 the deprecated events under test
	evs := collect(t, all, 8, 5*time.Second)
	want := []string{
		models.EventTypeDesiredLRPCreated, models.EventTypeActualLRPCreated, // UNCLAIMED
		models.EventTypeActualLRPChanged, models.EventTypeActualLRPChanged, // CLAIMED, RUNNING
		models.EventTypeActualLRPCrashed, models.EventTypeActualLRPChanged, // restarted: UNCLAIMED
		models.EventTypeDesiredLRPRemoved, models.EventTypeActualLRPRemoved,
	}
	if got := types(evs); !slices.Equal(got, want) {
		t.Fatalf("events = %v\nwant     %v", got, want)
	}
	running := evs[3].(*models.ActualLRPChangedEvent) //lint:ignore SA1019 deprecated event under test
	if running.Before.Instance.State != models.ActualLRPStateClaimed || running.After.Instance.State != models.ActualLRPStateRunning ||
		running.After.Instance.Address != "10.0.0.9" || running.After.Evacuating != nil {
		t.Fatalf("running event = %+v", running)
	}
	crashed := evs[4].(*models.ActualLRPCrashedEvent)
	if crashed.CellId != "cell-gev" || crashed.CrashReason != "boom" || crashed.CrashCount != 1 {
		t.Fatalf("crash event = %+v", crashed)
	}
	if after := evs[5].(*models.ActualLRPChangedEvent).After.Instance; after.State != models.ActualLRPStateUnclaimed { //lint:ignore SA1019 deprecated event
		t.Fatalf("after the crash = %+v", after)
	}
	// a cell's stream: the events of instances on it (before or after) and every desired LRP event
	gotCell := types(collect(t, cellOnly, 6, 3*time.Second))
	wantCell := []string{models.EventTypeDesiredLRPCreated, models.EventTypeActualLRPChanged, models.EventTypeActualLRPChanged,
		models.EventTypeActualLRPCrashed, models.EventTypeActualLRPChanged, models.EventTypeDesiredLRPRemoved}
	if !slices.Equal(gotCell, wantCell) {
		t.Fatalf("cell events = %v\nwant          %v", gotCell, wantCell)
	}
}

// sharedLayer is a V3-only field: the older formats carry it as a cached
// dependency.
var sharedLayer = &models.ImageLayer{Name: "buildpack", Url: "http://blobs.example/bp.tgz", DestinationPath: "/tmp/buildpacks/bp",
	LayerType: models.LayerTypeShared, MediaType: models.MediaTypeTgz, DigestAlgorithm: models.DigestAlgorithmSha256,
	DigestValue: "aabbcc"}

// wantOlderFormat fails unless the layer became a cached dependency.
func wantOlderFormat(t *testing.T, what string, layers []*models.ImageLayer, deps []*models.CachedDependency) {
	t.Helper()
	if len(layers) != 0 || len(deps) != 1 || deps[0].From != sharedLayer.Url || deps[0].To != sharedLayer.DestinationPath {
		t.Fatalf("%s: image layers %v, cached dependencies %v; want the layer as a cached dependency", what, layers, deps)
	}
}

func testOlderFormats(t *testing.T, h *bbstest.Harness) {
	c, hc := h.Client, mtlsClient(t, h.Certs, false)
	lrpStream := rawEvents(t, hc, http.MethodPost, h.URL+"/v1/events/lrp_instances")
	defer lrpStream.Close()
	groupStream := rawEvents(t, hc, http.MethodGet, h.URL+"/v1/events")
	defer groupStream.Close()
	taskStream := rawEvents(t, hc, http.MethodPost, h.URL+"/v1/events/tasks")
	defer taskStream.Close()
	time.Sleep(100 * time.Millisecond)

	d := desiredLRP("old", "old", 0, "x")
	d.ImageLayers = []*models.ImageLayer{sharedLayer}
	must(t, c.DesireLRP(logger, "", d))
	def := taskDef("x")
	def.ImageLayers = []*models.ImageLayer{sharedLayer}
	must(t, c.DesireTask(logger, "", "old-task", "old", def))

	// the current routes keep the layer
	cur, err := c.DesiredLRPByProcessGuid(logger, "", "old")
	must(t, err)
	if len(cur.ImageLayers) != 1 || len(cur.CachedDependencies) != 0 {
		t.Fatalf("r3 desired LRP: layers %v, deps %v", cur.ImageLayers, cur.CachedDependencies)
	}

	var one models.DesiredLRPResponse
	protoCall(t, hc, h.URL+"/v1/desired_lrps/get_by_process_guid.r2", &models.DesiredLRPByProcessGuidRequest{ProcessGuid: "old"}, &one)
	wantOlderFormat(t, "r2 desired LRP", one.DesiredLrp.GetImageLayers(), one.DesiredLrp.GetCachedDependencies())
	if one.DesiredLrp.MetricsGuid != "old" {
		t.Fatalf("r2 desired LRP metrics guid %q, want the source_id tag", one.DesiredLrp.MetricsGuid)
	}
	var many models.DesiredLRPsResponse
	protoCall(t, hc, h.URL+"/v1/desired_lrps/list.r2", &models.DesiredLRPsRequest{Domain: "old"}, &many)
	if len(many.DesiredLrps) != 1 {
		t.Fatalf("r2 desired LRPs = %v", many.DesiredLrps)
	}
	wantOlderFormat(t, "r2 desired LRPs", many.DesiredLrps[0].ImageLayers, many.DesiredLrps[0].CachedDependencies)

	var task models.TaskResponse
	protoCall(t, hc, h.URL+"/v1/tasks/get_by_task_guid.r2", &models.TaskByGuidRequest{TaskGuid: "old-task"}, &task)
	wantOlderFormat(t, "r2 task", task.Task.GetImageLayers(), task.Task.GetCachedDependencies())
	var tasks models.TasksResponse
	protoCall(t, hc, h.URL+"/v1/tasks/list.r2", &models.TasksRequest{Domain: "old"}, &tasks)
	if len(tasks.Tasks) != 1 {
		t.Fatalf("r2 tasks = %v", tasks.Tasks)
	}
	wantOlderFormat(t, "r2 tasks", tasks.Tasks[0].ImageLayers, tasks.Tasks[0].CachedDependencies)
	_ = protoCall(t, hc, h.URL+"/v1/tasks/get_by_task_guid.r2", &models.TaskByGuidRequest{TaskGuid: "nope"}, &task)
	if task.Error.GetType() != models.Error_ResourceNotFound {
		t.Fatalf("r2 missing task: %+v", task.Error)
	}

	for name, es := range map[string]events.EventSource{"/v1/events/lrp_instances": lrpStream, "/v1/events": groupStream} {
		evs := collect(t, es, 1, 5*time.Second)
		if len(evs) != 1 {
			t.Fatalf("%s: no event", name)
		}
		created, ok := evs[0].(*models.DesiredLRPCreatedEvent)
		if !ok {
			t.Fatalf("%s: first event %s", name, evs[0].EventType())
		}
		// the oldest format has no cached dependencies either: they are setup downloads
		d := created.DesiredLrp
		if len(d.ImageLayers) != 0 || len(d.CachedDependencies) != 0 || d.Setup.GetSerialAction() == nil ||
			d.Setup.SerialAction.Actions[0].GetParallelAction().GetActions()[0].GetDownloadAction().GetFrom() != sharedLayer.Url {
			t.Fatalf("%s: desired LRP in the r0 format: layers %v, deps %v, setup %v", name, d.ImageLayers, d.CachedDependencies, d.Setup)
		}
	}
	evs := collect(t, taskStream, 1, 5*time.Second)
	if len(evs) != 1 {
		t.Fatal("/v1/events/tasks: no event")
	}
	created := evs[0].(*models.TaskCreatedEvent)
	wantOlderFormat(t, "/v1/events/tasks task", created.Task.ImageLayers, created.Task.CachedDependencies)
	must(t, c.RemoveDesiredLRP(logger, "", "old"))
	must(t, c.CancelTask(logger, "", "old-task"))
}

// rawEvents opens an event stream the reference client has no call for.
func rawEvents(t *testing.T, hc *http.Client, method, url string) events.EventSource {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	must(t, err)
	resp, err := hc.Do(req)
	must(t, err)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		resp.Body.Close()
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return events.NewEventSource(sse.NewReadCloser(resp.Body))
}

// protoCall POSTs req to url and decodes the answer into resp.
func protoCall(t *testing.T, hc *http.Client, url string, req, resp proto.Message) *http.Response {
	t.Helper()
	r, body := call(t, hc, http.MethodPost, url, mustMarshal(t, req))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, r.StatusCode, body)
	}
	resp.Reset()
	must(t, proto.Unmarshal(body, resp))
	return r
}
