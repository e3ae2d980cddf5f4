package interop_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// The suite runs against each real database.
func TestInteropSQLite(t *testing.T) {
	runSuite(t, bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)}))
}

func TestInteropSQLiteUncached(t *testing.T) {
	runSuite(t, bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t), NoDesiredCache: true}))
}

func TestInteropPostgres(t *testing.T) {
	runSuite(t, bbstest.Start(t, bbstest.Options{Driver: "postgres", DSN: testdb.Postgres(t)}))
}

func TestInteropMySQL(t *testing.T) {
	runSuite(t, bbstest.Start(t, bbstest.Options{Driver: "mysql", DSN: testdb.MySQL(t)}))
}

func runSuite(t *testing.T, h *bbstest.Harness) {
	c := h.Client
	t.Run("ping", func(t *testing.T) {
		if !c.Ping(logger, "") {
			t.Fatal("ping false")
		}
	})
	t.Run("domains", func(t *testing.T) { testDomains(t, c) })
	t.Run("desired LRPs", func(t *testing.T) { testDesiredLRPs(t, c) })
	t.Run("metrics guid", func(t *testing.T) { testMetricsGuid(t, h) })
	t.Run("actual LRP lifecycle", func(t *testing.T) { testActualLifecycle(t, c) })
	t.Run("evacuation", func(t *testing.T) { testEvacuation(t, c) })
	t.Run("tasks", func(t *testing.T) { testTasks(t, c) })
	t.Run("lrp events", func(t *testing.T) { testLRPEvents(t, c) })
	t.Run("task events", func(t *testing.T) { testTaskEvents(t, c) })
	runLegacySuite(t, h)
	t.Run("cells", func(t *testing.T) {
		cells, err := c.Cells(logger, "")
		must(t, err)
		if len(cells) != 0 {
			t.Fatalf("cells = %v", cells)
		}
	})
}

func testDomains(t *testing.T, c bbs.InternalClient) {
	must(t, c.UpsertDomain(logger, "", "forever", 0))
	must(t, c.UpsertDomain(logger, "", "fresh", time.Hour))
	must(t, c.UpsertDomain(logger, "", "stale", time.Second))
	time.Sleep(1100 * time.Millisecond)
	got, err := c.Domains(logger, "")
	must(t, err)
	slices.Sort(got)
	if !slices.Equal(got, []string{"forever", "fresh"}) {
		t.Fatalf("domains = %v", got)
	}
	wantErr(t, c.UpsertDomain(logger, "", "", 10), models.Error_InvalidRequest)
}

func testDesiredLRPs(t *testing.T, c bbs.InternalClient) {
	must(t, c.DesireLRP(logger, "", desiredLRP("dl-1", "dl", 2, "s3cr3t")))
	must(t, c.DesireLRP(logger, "", desiredLRP("dl-2", "dl", 1, "s3cr3t")))
	wantErr(t, c.DesireLRP(logger, "", desiredLRP("dl-1", "dl", 2, "x")), models.Error_ResourceExists)
	wantErr(t, c.DesireLRP(logger, "", &models.DesiredLRP{ProcessGuid: "bad"}), models.Error_InvalidRequest)

	d, err := c.DesiredLRPByProcessGuid(logger, "", "dl-1")
	must(t, err)
	if d.Instances != 2 || d.EnvironmentVariables[0].Value != "s3cr3t" || d.ModificationTag == nil || d.ModificationTag.Epoch == "" {
		t.Fatalf("desired = %+v", d)
	}
	_, err = c.DesiredLRPByProcessGuid(logger, "", "nope")
	wantErr(t, err, models.Error_ResourceNotFound)

	all, err := c.DesiredLRPs(logger, "", models.DesiredLRPFilter{Domain: "dl"})
	must(t, err)
	if len(all) != 2 || all[0].Action == nil {
		t.Fatalf("desired list = %d", len(all))
	}
	some, err := c.DesiredLRPs(logger, "", models.DesiredLRPFilter{ProcessGuids: []string{"dl-2"}})
	must(t, err)
	if len(some) != 1 || some[0].ProcessGuid != "dl-2" {
		t.Fatalf("filtered = %v", some)
	}
	infos, err := c.DesiredLRPSchedulingInfos(logger, "", models.DesiredLRPFilter{Domain: "dl"})
	must(t, err)
	if len(infos) != 2 || infos[0].MemoryMb != 256 || !slices.Equal(infos[0].PlacementTags, []string{"blue"}) {
		t.Fatalf("scheduling infos = %+v", infos)
	}
	info, err := c.DesiredLRPSchedulingInfoByProcessGuid(logger, "", "dl-2")
	must(t, err)
	if info.ProcessGuid != "dl-2" || info.Instances != 1 {
		t.Fatalf("info = %+v", info)
	}
	routing, err := c.DesiredLRPRoutingInfos(logger, "", models.DesiredLRPFilter{ProcessGuids: []string{"dl-1"}})
	must(t, err)
	if len(routing) != 1 || routing[0].Instances != 2 || routing[0].Action != nil {
		t.Fatalf("routing infos = %+v", routing)
	}

	actuals, err := c.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: "dl-1"})
	must(t, err)
	if len(actuals) != 2 || actuals[0].State != models.ActualLRPStateUnclaimed {
		t.Fatalf("actuals = %+v", actuals)
	}

	// scale up, change routes and annotation
	upd := &models.DesiredLRPUpdate{}
	upd.SetInstances(4)
	upd.SetAnnotation("v2")
	raw := json.RawMessage(`[{"hostnames":["app.example.com"],"port":8080}]`)
	routes := models.Routes{"cf-router": &raw}
	upd.Routes = &routes
	must(t, c.UpdateDesiredLRP(logger, "", "dl-1", upd))
	d, err = c.DesiredLRPByProcessGuid(logger, "", "dl-1")
	must(t, err)
	if d.Instances != 4 || d.Annotation != "v2" || d.ModificationTag.Index != 1 || d.Routes == nil {
		t.Fatalf("after update = %+v", d)
	}
	actuals, err = c.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: "dl-1"})
	must(t, err)
	if len(actuals) != 4 {
		t.Fatalf("after scale up: %d actuals", len(actuals))
	}
	// scale down: surplus UNCLAIMED instances are retired
	down := &models.DesiredLRPUpdate{}
	down.SetInstances(1)
	must(t, c.UpdateDesiredLRP(logger, "", "dl-1", down))
	actuals, err = c.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: "dl-1"})
	must(t, err)
	if len(actuals) != 1 || actuals[0].Index != 0 {
		t.Fatalf("after scale down: %+v", actuals)
	}
	wantErr(t, c.UpdateDesiredLRP(logger, "", "nope", down), models.Error_ResourceNotFound)

	must(t, c.RemoveDesiredLRP(logger, "", "dl-2"))
	_, err = c.DesiredLRPByProcessGuid(logger, "", "dl-2")
	wantErr(t, err, models.Error_ResourceNotFound)
	actuals, err = c.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: "dl-2"})
	must(t, err)
	if len(actuals) != 0 {
		t.Fatalf("actuals of removed LRP: %+v", actuals)
	}
	wantErr(t, c.RemoveDesiredLRP(logger, "", "dl-2"), models.Error_ResourceNotFound)
}

func testActualLifecycle(t *testing.T, c bbs.InternalClient) {
	must(t, c.DesireLRP(logger, "", desiredLRP("al", "al", 2, "x")))
	key := models.NewActualLRPKey("al", 0, "al")
	ikA := models.NewActualLRPInstanceKey("ig-a", "cell-a")
	ikB := models.NewActualLRPInstanceKey("ig-b", "cell-b")
	net := models.NewActualLRPNetInfo("10.0.0.1", "10.255.0.1", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61000, 8080))

	must(t, c.ClaimActualLRP(logger, "", &key, &ikA))
	if l := ordinary(t, c, "al", 0); l.State != models.ActualLRPStateClaimed || l.CellId != "cell-a" {
		t.Fatalf("claimed = %+v", l)
	}
	wantErr(t, c.ClaimActualLRP(logger, "", &key, &ikB), models.Error_ActualLRPCannotBeClaimed)
	must(t, c.StartActualLRP(logger, "", &key, &ikA, &net, nil, map[string]string{"app": "al"}, true, "z1"))
	l := ordinary(t, c, "al", 0)
	if l.State != models.ActualLRPStateRunning || l.Address != "10.0.0.1" || !l.GetRoutable() || l.AvailabilityZone != "z1" || l.MetricTags["app"] != "al" {
		t.Fatalf("running = %+v", l)
	}
	wantErr(t, c.StartActualLRP(logger, "", &key, &ikB, &net, nil, nil, true, "z1"), models.Error_ActualLRPCannotBeStarted)
	wantErr(t, c.FailActualLRP(logger, "", &key, "nope"), models.Error_ActualLRPCannotBeFailed)

	byCell, err := c.ActualLRPs(logger, "", models.ActualLRPFilter{CellID: "cell-a"})
	must(t, err)
	if len(byCell) != 1 || byCell[0].InstanceGuid != "ig-a" {
		t.Fatalf("by cell = %+v", byCell)
	}
	byDomain, err := c.ActualLRPs(logger, "", models.ActualLRPFilter{Domain: "al"})
	must(t, err)
	if len(byDomain) != 2 {
		t.Fatalf("by domain = %d", len(byDomain))
	}

	// crash: first crashes restart immediately (UNCLAIMED, count 1)
	wantErr(t, c.CrashActualLRP(logger, "", &key, &ikB, "wrong cell"), models.Error_ActualLRPCannotBeCrashed)
	must(t, c.CrashActualLRP(logger, "", &key, &ikA, "exit status 1"))
	l = ordinary(t, c, "al", 0)
	if l.State != models.ActualLRPStateUnclaimed || l.CrashCount != 1 || l.CrashReason != "exit status 1" || l.CellId != "" {
		t.Fatalf("crashed = %+v", l)
	}
	// fail an unclaimed instance: placement error
	must(t, c.FailActualLRP(logger, "", &key, "found no compatible cell"))
	if l = ordinary(t, c, "al", 0); l.PlacementError != "found no compatible cell" {
		t.Fatalf("failed = %+v", l)
	}
	// retire an unclaimed instance: removed
	key1 := models.NewActualLRPKey("al", 1, "al")
	must(t, c.RetireActualLRP(logger, "", &key1))
	if got := presences(t, c, "al", 1); len(got) != 0 {
		t.Fatalf("retired instance still there: %+v", got)
	}
	wantErr(t, c.RetireActualLRP(logger, "", &key1), models.Error_ResourceNotFound)
	// retire a running instance whose cell has no presence: removed
	must(t, c.ClaimActualLRP(logger, "", &key, &ikB))
	must(t, c.StartActualLRP(logger, "", &key, &ikB, &net, nil, nil, true, "z2"))
	must(t, c.RetireActualLRP(logger, "", &key))
	if got := presences(t, c, "al", 0); len(got) != 0 {
		t.Fatalf("retired running instance still there: %+v", got)
	}
	// start of an instance that does not exist creates it RUNNING
	key5 := models.NewActualLRPKey("al", 5, "al")
	must(t, c.StartActualLRP(logger, "", &key5, &ikA, &net, nil, nil, false, ""))
	if l = ordinary(t, c, "al", 5); l.State != models.ActualLRPStateRunning || l.GetRoutable() {
		t.Fatalf("created by start = %+v", l)
	}
	// remove with a different instance key is refused, with the right one works
	wantErr(t, c.RemoveActualLRP(logger, "", &key5, &ikB), models.Error_ActualLRPCannotBeRemoved)
	must(t, c.RemoveActualLRP(logger, "", &key5, &ikA))
	wantErr(t, c.RemoveActualLRP(logger, "", &key5, &ikA), models.Error_ResourceNotFound)
	wantErr(t, c.ClaimActualLRP(logger, "", &key5, &ikA), models.Error_ResourceNotFound)
}

func testEvacuation(t *testing.T, c bbs.InternalClient) {
	must(t, c.DesireLRP(logger, "", desiredLRP("ev", "ev", 1, "x")))
	key := models.NewActualLRPKey("ev", 0, "ev")
	ikA := models.NewActualLRPInstanceKey("ig-a", "cell-a")
	ikB := models.NewActualLRPInstanceKey("ig-b", "cell-b")
	netA := models.NewActualLRPNetInfo("10.0.0.1", "", models.ActualLRPNetInfo_PreferredAddressHost)
	netB := models.NewActualLRPNetInfo("10.0.0.2", "", models.ActualLRPNetInfo_PreferredAddressHost)
	must(t, c.ClaimActualLRP(logger, "", &key, &ikA))
	must(t, c.StartActualLRP(logger, "", &key, &ikA, &netA, nil, nil, true, "z1"))

	keep, err := c.EvacuateRunningActualLRP(logger, "", &key, &ikA, &netA, nil, nil, true, "z1")
	must(t, err)
	if !keep {
		t.Fatal("evacuate running: keep = false")
	}
	got := presences(t, c, "ev", 0)
	if ev := got[models.ActualLRP_Evacuating]; ev == nil || ev.InstanceGuid != "ig-a" || ev.State != models.ActualLRPStateRunning {
		t.Fatalf("evacuating copy = %+v", got)
	}
	if o := got[models.ActualLRP_Ordinary]; o == nil || o.State != models.ActualLRPStateUnclaimed {
		t.Fatalf("ordinary after evacuation = %+v", got)
	}
	// while the replacement is only claimed, the evacuating one keeps running
	must(t, c.ClaimActualLRP(logger, "", &key, &ikB))
	keep, err = c.EvacuateRunningActualLRP(logger, "", &key, &ikA, &netA, nil, nil, true, "z1")
	must(t, err)
	if !keep {
		t.Fatal("replacement claimed: keep = false")
	}
	// replacement RUNNING: the evacuating copy is removed
	must(t, c.StartActualLRP(logger, "", &key, &ikB, &netB, nil, nil, true, "z2"))
	got = presences(t, c, "ev", 0)
	if len(got) != 1 || got[models.ActualLRP_Ordinary].InstanceGuid != "ig-b" {
		t.Fatalf("after replacement started = %+v", got)
	}
	keep, err = c.EvacuateRunningActualLRP(logger, "", &key, &ikA, &netA, nil, nil, true, "z1")
	must(t, err)
	if keep {
		t.Fatal("replacement running: keep = true")
	}

	// evacuate a claimed instance: it is unclaimed, container not kept
	must(t, c.DesireLRP(logger, "", desiredLRP("ev2", "ev", 1, "x")))
	key2 := models.NewActualLRPKey("ev2", 0, "ev")
	must(t, c.ClaimActualLRP(logger, "", &key2, &ikA))
	keep, err = c.EvacuateClaimedActualLRP(logger, "", &key2, &ikA)
	must(t, err)
	if keep || ordinary(t, c, "ev2", 0).State != models.ActualLRPStateUnclaimed {
		t.Fatalf("evacuate claimed: keep=%v", keep)
	}
	// evacuate crashed / stopped
	must(t, c.ClaimActualLRP(logger, "", &key2, &ikA))
	must(t, c.StartActualLRP(logger, "", &key2, &ikA, &netA, nil, nil, true, "z1"))
	keep, err = c.EvacuateCrashedActualLRP(logger, "", &key2, &ikA, "died while evacuating")
	must(t, err)
	if keep || ordinary(t, c, "ev2", 0).CrashCount != 1 {
		t.Fatalf("evacuate crashed: keep=%v lrp=%+v", keep, ordinary(t, c, "ev2", 0))
	}
	must(t, c.ClaimActualLRP(logger, "", &key2, &ikA))
	keep, err = c.EvacuateStoppedActualLRP(logger, "", &key2, &ikA)
	must(t, err)
	if keep || len(presences(t, c, "ev2", 0)) != 0 {
		t.Fatalf("evacuate stopped: keep=%v", keep)
	}
	// remove_evacuating
	must(t, c.DesireLRP(logger, "", desiredLRP("ev3", "ev", 1, "x")))
	key3 := models.NewActualLRPKey("ev3", 0, "ev")
	must(t, c.ClaimActualLRP(logger, "", &key3, &ikA))
	must(t, c.StartActualLRP(logger, "", &key3, &ikA, &netA, nil, nil, true, "z1"))
	_, err = c.EvacuateRunningActualLRP(logger, "", &key3, &ikA, &netA, nil, nil, true, "z1")
	must(t, err)
	must(t, c.RemoveEvacuatingActualLRP(logger, "", &key3, &ikA))
	if got := presences(t, c, "ev3", 0); got[models.ActualLRP_Evacuating] != nil {
		t.Fatalf("evacuating copy not removed: %+v", got)
	}
	wantErr(t, c.RemoveEvacuatingActualLRP(logger, "", &key3, &ikA), models.Error_ResourceNotFound)
}

func testTasks(t *testing.T, c bbs.InternalClient) {
	must(t, c.DesireTask(logger, "", "task-1", "tk", taskDef("x")))
	must(t, c.DesireTask(logger, "", "task-2", "tk", taskDef("x")))
	must(t, c.DesireTask(logger, "", "task-3", "other", taskDef("x")))
	wantErr(t, c.DesireTask(logger, "", "task-1", "tk", taskDef("x")), models.Error_ResourceExists)
	wantErr(t, c.DesireTask(logger, "", "", "tk", taskDef("x")), models.Error_InvalidRequest)

	task, err := c.TaskByGuid(logger, "", "task-1")
	must(t, err)
	if task.State != models.Task_Pending || task.Domain != "tk" || task.CreatedAt == 0 {
		t.Fatalf("task = %+v", task)
	}
	_, err = c.TaskByGuid(logger, "", "nope")
	wantErr(t, err, models.Error_ResourceNotFound)

	should, err := c.StartTask(logger, "", "task-1", "cell-1")
	must(t, err)
	if !should {
		t.Fatal("first start: shouldStart false")
	}
	should, err = c.StartTask(logger, "", "task-1", "cell-1")
	must(t, err)
	if should {
		t.Fatal("repeated start on same cell: shouldStart true")
	}
	_, err = c.StartTask(logger, "", "task-1", "cell-2")
	wantErr(t, err, models.Error_InvalidStateTransition)

	byDomain, err := c.TasksByDomain(logger, "", "tk")
	must(t, err)
	byCell, err2 := c.TasksByCellID(logger, "", "cell-1")
	must(t, err2)
	all, err3 := c.Tasks(logger, "")
	must(t, err3)
	if len(byDomain) != 2 || len(byCell) != 1 || len(all) != 3 {
		t.Fatalf("lists: domain=%d cell=%d all=%d", len(byDomain), len(byCell), len(all))
	}

	wantErr(t, c.CompleteTask(logger, "", "task-1", "cell-2", false, "", "r"), models.Error_RunningOnDifferentCell)
	must(t, c.CompleteTask(logger, "", "task-1", "cell-1", false, "", "the result"))
	task, _ = c.TaskByGuid(logger, "", "task-1")
	if task.State != models.Task_Completed || task.Result != "the result" || task.Failed {
		t.Fatalf("completed = %+v", task)
	}
	wantErr(t, c.DeleteTask(logger, "", "task-1"), models.Error_InvalidStateTransition)
	wantErr(t, c.CancelTask(logger, "", "task-1"), models.Error_InvalidStateTransition)
	must(t, c.ResolvingTask(logger, "", "task-1"))
	must(t, c.DeleteTask(logger, "", "task-1"))
	_, err = c.TaskByGuid(logger, "", "task-1")
	wantErr(t, err, models.Error_ResourceNotFound)

	// cancel a pending task
	must(t, c.CancelTask(logger, "", "task-2"))
	task, _ = c.TaskByGuid(logger, "", "task-2")
	if task.State != models.Task_Completed || !task.Failed || task.FailureReason != "task was cancelled" {
		t.Fatalf("cancelled = %+v", task)
	}
	// reject: back to pending 3 times (max_task_retries), failed by the fourth
	must(t, c.RejectTask(logger, "", "task-3", "no room"))
	task, _ = c.TaskByGuid(logger, "", "task-3")
	if task.State != models.Task_Pending || task.RejectionCount != 1 {
		t.Fatalf("rejected once = %+v", task)
	}
	must(t, c.RejectTask(logger, "", "task-3", "no room"))
	must(t, c.RejectTask(logger, "", "task-3", "no room"))
	task, _ = c.TaskByGuid(logger, "", "task-3")
	if task.State != models.Task_Pending || task.RejectionCount != 3 {
		t.Fatalf("rejected thrice = %+v", task)
	}
	must(t, c.RejectTask(logger, "", "task-3", "no room"))
	task, _ = c.TaskByGuid(logger, "", "task-3")
	if task.State != models.Task_Completed || !task.Failed || task.FailureReason != "no room" {
		t.Fatalf("rejected four times = %+v", task)
	}
	// deprecated fail
	must(t, c.DesireTask(logger, "", "task-4", "tk", taskDef("x")))
	must(t, c.FailTask(logger, "", "task-4", "gave up"))
	task, _ = c.TaskByGuid(logger, "", "task-4")
	if !task.Failed || task.FailureReason != "gave up" {
		t.Fatalf("failed = %+v", task)
	}
}

func testLRPEvents(t *testing.T, c bbs.InternalClient) {
	all, cellOnly := lifecycleEvents(t, c, "evt", "cell-evt", func(cell string) (events.EventSource, error) {
		return c.SubscribeToInstanceEventsByCellID(logger, cell)
	})

	evs := collect(t, all, 9, 5*time.Second)
	want := []string{
		models.EventTypeDesiredLRPCreated, models.EventTypeActualLRPInstanceCreated,
		models.EventTypeActualLRPInstanceChanged, models.EventTypeActualLRPInstanceChanged,
		// as in the reference, a restarted instance is a new one: the crashed one is removed
		models.EventTypeActualLRPCrashed, models.EventTypeActualLRPInstanceCreated, models.EventTypeActualLRPInstanceRemoved,
		models.EventTypeDesiredLRPRemoved, models.EventTypeActualLRPInstanceRemoved,
	}
	if got := types(evs); !slices.Equal(got, want) {
		t.Fatalf("events = %v\nwant     %v", got, want)
	}
	if restarted := evs[5].(*models.ActualLRPInstanceCreatedEvent).ActualLrp; restarted.State != models.ActualLRPStateUnclaimed || restarted.CrashCount != 1 {
		t.Fatalf("restarted instance = %+v", restarted)
	}
	if gone := evs[6].(*models.ActualLRPInstanceRemovedEvent).ActualLrp; gone.State != models.ActualLRPStateRunning || gone.CellId != "cell-evt" {
		t.Fatalf("crashed instance removed = %+v", gone)
	}
	// as in the reference, a cell's stream carries its instances' events and every desired LRP event
	gotCell := types(collect(t, cellOnly, 6, 3*time.Second))
	wantCell := []string{models.EventTypeDesiredLRPCreated, models.EventTypeActualLRPInstanceChanged,
		models.EventTypeActualLRPInstanceChanged, models.EventTypeActualLRPCrashed, models.EventTypeActualLRPInstanceRemoved,
		models.EventTypeDesiredLRPRemoved}
	if !slices.Equal(gotCell, wantCell) {
		t.Fatalf("cell events = %v\nwant          %v", gotCell, wantCell)
	}
}

func testTaskEvents(t *testing.T, c bbs.InternalClient) {
	es, err := c.SubscribeToTaskEvents(logger)
	must(t, err)
	defer es.Close()
	time.Sleep(100 * time.Millisecond)
	must(t, c.DesireTask(logger, "", "te", "te", taskDef("x")))
	_, err = c.StartTask(logger, "", "te", "c")
	must(t, err)
	must(t, c.CompleteTask(logger, "", "te", "c", true, "oops", ""))
	must(t, c.ResolvingTask(logger, "", "te"))
	must(t, c.DeleteTask(logger, "", "te"))
	evs := collect(t, es, 5, 5*time.Second)
	want := []string{models.EventTypeTaskCreated, models.EventTypeTaskChanged, models.EventTypeTaskChanged,
		models.EventTypeTaskChanged, models.EventTypeTaskRemoved}
	if got := types(evs); !slices.Equal(got, want) {
		t.Fatalf("task events = %v", got)
	}
	changed := evs[2].(*models.TaskChangedEvent)
	if changed.After.State != models.Task_Completed || changed.Before.State != models.Task_Running || changed.After.FailureReason != "oops" {
		t.Fatalf("changed event = %+v", changed)
	}
}
