package view

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func desired(pg, domain string, n int32, hosts ...string) *models.DesiredLRP {
	d := &models.DesiredLRP{ProcessGuid: pg, Domain: domain, Instances: n, MemoryMb: 64, DiskMb: 128}
	if len(hosts) > 0 {
		raw := json.RawMessage(fmt.Sprintf(`[{"hostnames":["%s"],"port":8080}]`, strings.Join(hosts, `","`)))
		d.Routes = &models.Routes{"cf-router": &raw}
	}
	return d
}

func actual(pg string, i int32, state, cell string) *models.ActualLRP {
	a := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey(pg, i, "d"), State: state, Since: t0.UnixNano()}
	if cell != "" {
		a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey(fmt.Sprintf("%s-%d", pg, i), cell)
	}
	return a
}

func presence(id, zone string) *models.CellPresence {
	return &models.CellPresence{CellId: id, Zone: zone, RepUrl: "https://" + id}
}

func TestBuildCountsInstancesPerAppAndOverall(t *testing.T) {
	crashed := actual("web", 2, models.ActualLRPStateCrashed, "")
	crashed.CrashCount, crashed.CrashReason = 3, "exit 1"
	evac := actual("web", 0, models.ActualLRPStateRunning, "c2")
	evac.Presence = models.ActualLRP_Evacuating
	in := Input{
		Desired: []*models.DesiredLRP{desired("web", "cf-apps", 4, "b.example", "a.example"), desired("api", "cf-apps", 1)},
		Actual: []*models.ActualLRP{
			actual("web", 0, models.ActualLRPStateRunning, "c1"), evac, actual("web", 1, models.ActualLRPStateClaimed, "c1"),
			crashed, actual("web", 3, models.ActualLRPStateUnclaimed, ""), actual("api", 0, models.ActualLRPStateRunning, "c1"),
			actual("orphan", 0, models.ActualLRPStateRunning, "c1"),
		},
		Now: t0,
	}
	v := Build(in)
	web, ok := v.App("web")
	if !ok {
		t.Fatal("no web row")
	}
	want := App{ProcessGuid: "web", Domain: "cf-apps", Instances: 4, Running: 1, Crashed: 1, Starting: 1, Unclaimed: 1,
		Routes: []string{"a.example", "b.example"}, MemoryMB: 64, DiskMB: 128}
	if !reflect.DeepEqual(web, want) {
		t.Errorf("web row = %+v, want %+v", web, want)
	}
	if got := v.Overview.Instances; got != (InstanceCounts{Desired: 5, Running: 3, Crashed: 1, Starting: 1, Unclaimed: 1}) {
		t.Errorf("overview instances = %+v (the evacuating copy must not count; the orphan counts as running)", got)
	}
	if v.Overview.Apps != 2 || v.Apps[0].ProcessGuid != "api" {
		t.Errorf("apps = %+v, want 2 sorted by domain then guid", v.Apps)
	}
	inst := v.Instances["web"]
	if len(inst) != 5 || inst[0].Index != 0 || inst[0].Evacuating || !inst[1].Evacuating || inst[3].CrashReason != "exit 1" {
		t.Errorf("web instances = %+v, want by index, the evacuating copy after the ordinary one", inst)
	}
	if !inst[0].Since.Equal(t0) {
		t.Errorf("since = %v, want %v", inst[0].Since, t0)
	}
}

func TestBuildCellsByZoneWithMissingAndEvacuating(t *testing.T) {
	in := Input{
		Presences: []*models.CellPresence{presence("c2", "z2"), presence("c1", "z1"), presence("c3", "z1")},
		States: map[string]rep.CellState{
			"c1": {TotalResources: rep.Resources{MemoryMB: 1000, DiskMB: 2000, Containers: 10}, AvailableResources: rep.Resources{MemoryMB: 600, DiskMB: 1500, Containers: 7}},
			"c3": {TotalResources: rep.Resources{MemoryMB: 1000, DiskMB: 2000, Containers: 10}, AvailableResources: rep.Resources{MemoryMB: 1000, DiskMB: 2000, Containers: 10}, Evacuating: true},
		},
		StateErrors: map[string]string{"c2": "connection refused"},
		Actual:      []*models.ActualLRP{actual("web", 0, models.ActualLRPStateRunning, "c1"), actual("web", 1, models.ActualLRPStateRunning, "gone")},
		Known:       map[string]string{"c4": "z2"},
	}
	v := Build(in)
	var ids []string
	for _, c := range v.Cells {
		ids = append(ids, fmt.Sprintf("%s/%s missing=%v", c.Zone, c.CellID, c.Missing))
	}
	want := []string{"/gone missing=true", "z1/c1 missing=false", "z1/c3 missing=false", "z2/c2 missing=false", "z2/c4 missing=true"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("cells = %q, want %q", ids, want)
	}
	if v.Overview.Cells != (CellCounts{Total: 5, Missing: 2, Evacuating: 1}) {
		t.Errorf("cell counts = %+v", v.Overview.Cells)
	}
	z1 := v.Zones[0]
	if z1.Zone != "z1" || z1.Cells != 2 || z1.MemoryMB != (Usage{2000, 400}) || z1.Containers != (Usage{20, 3}) {
		t.Errorf("zone z1 = %+v", z1)
	}
	if v.Cells[3].StateError != "connection refused" || v.Cells[1].Instances != 1 {
		t.Errorf("c2 state error %q, c1 instances %d", v.Cells[3].StateError, v.Cells[1].Instances)
	}
	if got := len(FilterCells(v.Cells, "z1")); got != 2 {
		t.Errorf("FilterCells z1 = %d cells, want 2", got)
	}
	known := KnownCells(in)
	if len(known) != 5 || known["c4"] != "z2" {
		t.Errorf("KnownCells = %v, want the known, present and LRP cells", known)
	}
}

func TestTasksNewestFirstAndFiltered(t *testing.T) {
	in := Input{Tasks: []*models.Task{
		{TaskGuid: "old", Domain: "a", State: models.Task_Completed, Failed: true, FailureReason: "boom", CreatedAt: t0.UnixNano()},
		{TaskGuid: "new", Domain: "b", State: models.Task_Running, CellId: "c1", CreatedAt: t0.Add(time.Minute).UnixNano()},
		{TaskGuid: "mid", Domain: "a", State: models.Task_Pending, CreatedAt: t0.Add(time.Second).UnixNano()},
	}}
	v := Build(in)
	if v.Tasks[0].TaskGuid != "new" || v.Tasks[2].TaskGuid != "old" || v.Tasks[0].State != "RUNNING" {
		t.Errorf("tasks = %+v, want newest first with upper-case states", v.Tasks)
	}
	if v.Overview.Tasks != (TaskCounts{Pending: 1, Running: 1, Completed: 1}) {
		t.Errorf("task counts = %+v", v.Overview.Tasks)
	}
	if got := FilterTasks(v.Tasks, "completed", "a"); len(got) != 1 || got[0].TaskGuid != "old" || !got[0].Failed {
		t.Errorf("FilterTasks(completed, a) = %+v", got)
	}
	if got := FilterTasks(v.Tasks, "", "a"); len(got) != 2 {
		t.Errorf("FilterTasks(domain a) = %d, want 2", len(got))
	}
}

func TestFilterApps(t *testing.T) {
	apps := Build(Input{Desired: []*models.DesiredLRP{desired("web", "cf", 1, "shop.example"), desired("worker", "cf", 1), desired("x", "other", 1)}}).Apps
	for _, c := range []struct {
		domain, q string
		want      int
	}{{"", "", 3}, {"cf", "", 2}, {"", "SHOP", 1}, {"", "wor", 1}, {"other", "web", 0}} {
		if got := len(FilterApps(apps, c.domain, c.q)); got != c.want {
			t.Errorf("FilterApps(%q, %q) = %d, want %d", c.domain, c.q, got, c.want)
		}
	}
}

func TestPaginate(t *testing.T) {
	items := make([]int, 120)
	for i := range items {
		items[i] = i
	}
	for _, c := range []struct {
		page, per, wantPage, wantPer, first, n int
	}{
		{1, 50, 1, 50, 0, 50}, {3, 50, 3, 50, 100, 20}, {4, 50, 4, 50, -1, 0}, {0, 0, 1, DefaultPerPage, 0, 50}, {1, 1000, 1, MaxPerPage, 0, 120},
	} {
		p := Paginate(items, c.page, c.per)
		if p.Page != c.wantPage || p.PerPage != c.wantPer || p.Total != 120 || len(p.Items) != c.n || (c.n > 0 && p.Items[0] != c.first) {
			t.Errorf("Paginate(page %d, per %d) = page %d per %d total %d, %d items", c.page, c.per, p.Page, p.PerPage, p.Total, len(p.Items))
		}
		if p.Items == nil {
			t.Errorf("Paginate(page %d): nil items (must encode as [])", c.page)
		}
	}
}

func TestRingKeepsNewestAndFilters(t *testing.T) {
	r := NewRing(3)
	for i := 0; i < 5; i++ {
		r.Add(Item{Time: t0.Add(time.Duration(i) * time.Second), Kind: KindInstanceStarted, ProcessGuid: fmt.Sprintf("p%d", i%2), Message: fmt.Sprintf("item %d", i)})
	}
	all := r.List(Filter{})
	if len(all) != 3 || all[0].Message != "item 4" || all[2].Message != "item 2" {
		t.Fatalf("List = %+v, want items 4, 3, 2", all)
	}
	if got := r.List(Filter{ProcessGuid: "p0"}); len(got) != 2 || got[1].Message != "item 2" {
		t.Errorf("by process = %+v", got)
	}
	if got := r.List(Filter{Q: "ITEM 3"}); len(got) != 1 {
		t.Errorf("by text = %+v", got)
	}
	if got := r.List(Filter{Kind: KindCellLost}); len(got) != 0 {
		t.Errorf("by kind = %+v", got)
	}
	if got := r.List(Filter{Limit: 1}); len(got) != 1 || got[0].Message != "item 4" {
		t.Errorf("limit 1 = %+v", got)
	}
	if got := NewRing(0).List(Filter{}); got == nil || len(got) != 0 {
		t.Errorf("empty ring = %#v, want []", got)
	}
}

func TestFromEvent(t *testing.T) {
	key := models.NewActualLRPKey("web", 1, "d")
	ikey := models.NewActualLRPInstanceKey("g", "c1")
	changed := func(before, after string) models.Event {
		return &models.ActualLRPInstanceChangedEvent{ActualLRPKey: key, ActualLRPInstanceKey: ikey,
			Before: &models.ActualLRPInfo{State: before}, After: &models.ActualLRPInfo{State: after, CrashReason: "oom", CrashCount: 2}}
	}
	evac := actual("web", 1, models.ActualLRPStateRunning, "c1")
	evac.Presence = models.ActualLRP_Evacuating
	d1, d2 := desired("web", "d", 1), desired("web", "d", 3)
	for _, c := range []struct {
		name string
		ev   models.Event
		kind string
	}{
		{"running", changed(models.ActualLRPStateClaimed, models.ActualLRPStateRunning), KindInstanceStarted},
		{"crashed", changed(models.ActualLRPStateRunning, models.ActualLRPStateCrashed), KindInstanceCrashed},
		{"unchanged state", changed(models.ActualLRPStateRunning, models.ActualLRPStateRunning), ""},
		{"claimed", changed(models.ActualLRPStateUnclaimed, models.ActualLRPStateClaimed), ""},
		{"crash event", models.NewActualLRPCrashedEvent(evac, evac), KindInstanceCrashed},
		{"evacuating copy created", models.NewActualLRPInstanceCreatedEvent(evac, ""), KindInstanceEvacuated},
		{"ordinary created", models.NewActualLRPInstanceCreatedEvent(actual("web", 1, models.ActualLRPStateUnclaimed, ""), ""), ""},
		{"evacuating copy removed", models.NewActualLRPInstanceRemovedEvent(evac, ""), KindInstanceEvacuated},
		{"removed", models.NewActualLRPInstanceRemovedEvent(actual("web", 1, models.ActualLRPStateRunning, "c1"), ""), KindInstanceRemoved},
		{"scaled", models.NewDesiredLRPChangedEvent(d1, d2, ""), KindAppScaled},
		{"desired changed, same count", models.NewDesiredLRPChangedEvent(d1, d1, ""), ""},
		{"task completed", models.NewTaskChangedEvent(&models.Task{TaskGuid: "t", State: models.Task_Running}, &models.Task{TaskGuid: "t", State: models.Task_Completed}), KindTaskCompleted},
		{"task failed", models.NewTaskChangedEvent(&models.Task{TaskGuid: "t", State: models.Task_Running}, &models.Task{TaskGuid: "t", State: models.Task_Completed, Failed: true, FailureReason: "x"}), KindTaskFailed},
		{"task resolved", models.NewTaskChangedEvent(&models.Task{TaskGuid: "t", State: models.Task_Completed}, &models.Task{TaskGuid: "t", State: models.Task_Resolving}), ""},
	} {
		items := FromEvent(c.ev, t0)
		switch {
		case c.kind == "" && len(items) != 0:
			t.Errorf("%s: items %+v, want none", c.name, items)
		case c.kind != "" && (len(items) != 1 || items[0].Kind != c.kind || !items[0].Time.Equal(t0) || items[0].Message == ""):
			t.Errorf("%s: items %+v, want one %s", c.name, items, c.kind)
		}
	}
	if it := FromEvent(changed(models.ActualLRPStateRunning, models.ActualLRPStateCrashed), t0)[0]; it.ProcessGuid != "web" || *it.Index != 1 || it.CellID != "c1" || !strings.Contains(it.Message, "oom") {
		t.Errorf("crash item = %+v", it)
	}
}

func TestCellChanges(t *testing.T) {
	items := CellChanges(map[string]bool{"a": true, "b": true}, map[string]bool{"b": true, "c": true}, t0)
	if len(items) != 2 || items[0].Kind != KindCellLost || items[0].CellID != "a" || items[1].Kind != KindCellAppeared || items[1].CellID != "c" {
		t.Errorf("CellChanges = %+v", items)
	}
}

func TestParseMetricsAndRates(t *testing.T) {
	text := `# HELP bbs_requests_total requests
# TYPE bbs_requests_total counter
bbs_requests_total{route="/a"} 10
bbs_requests_total{route="/b"} 5
bbs_convergence_duration_seconds{quantile="0.5"} 0.25
bbs_convergence_duration_seconds{quantile="0.99"} 2
go_goroutines 12
broken line
bad_value{x="1"} abc
`
	m := ParseMetrics(strings.NewReader(text))
	want := map[string]float64{"bbs_requests_total": 15, "bbs_convergence_duration_seconds_p50": 0.25, "go_goroutines": 12}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("ParseMetrics = %v, want %v", m, want)
	}
	if v, ok := Pick(m, "convergence", "_p50"); !ok || v != 0.25 {
		t.Errorf("Pick = %v %v", v, ok)
	}
	if _, ok := Pick(m, "auction"); ok {
		t.Error("Pick found a metric that is not there")
	}
	after := map[string]float64{"bbs_requests_total": 35}
	if r := Rate(m, after, "requests_total", 4); r != 5 {
		t.Errorf("Rate = %v, want 5", r)
	}
	if r := Rate(nil, after, "requests_total", 4); r != 0 {
		t.Errorf("Rate without a previous scrape = %v, want 0", r)
	}
}

func TestMeanOfAHistogram(t *testing.T) {
	text := `auctioneer_auction_duration_seconds_bucket{le="0.005"} 3
auctioneer_auction_duration_seconds_bucket{le="+Inf"} 4
auctioneer_auction_duration_seconds_sum 0.02
auctioneer_auction_duration_seconds_count 4
`
	m := ParseMetrics(strings.NewReader(text))
	if v, ok := Mean(nil, m, "auctioneer_auction_duration_seconds"); !ok || v != 0.005 {
		t.Errorf("Mean without a previous scrape = %v %v, want 0.005 (all of them)", v, ok)
	}
	after := map[string]float64{"auctioneer_auction_duration_seconds_sum": 0.05, "auctioneer_auction_duration_seconds_count": 6}
	if v, ok := Mean(m, after, "auctioneer_auction_duration_seconds"); !ok || v < 0.0149 || v > 0.0151 {
		t.Errorf("Mean since the previous scrape = %v %v, want 0.015 (0.03 s over 2 rounds)", v, ok)
	}
	if v, ok := Mean(after, after, "auctioneer_auction_duration_seconds"); !ok || v != 0.05/6 {
		t.Errorf("Mean with no new round = %v %v, want the mean of all", v, ok)
	}
	if _, ok := Mean(nil, m, "bbs_convergence_duration_seconds"); ok {
		t.Error("Mean of a histogram that is not there")
	}
}
