package interop_test

import (
	"net/http"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// TestKeyColumnsBoundedOnEveryRoute: every route that writes a guid, a
// domain or a cell id (VARCHAR(255) columns on PostgreSQL and MySQL)
// refuses a 256-byte value with the same InvalidRequest on SQLite,
// PostgreSQL and MySQL (issue 17: a long value was stored on SQLite and
// failed with "value too long" on PostgreSQL).
func TestKeyColumnsBoundedOnEveryRoute(t *testing.T) {
	long := strings.Repeat("x", 256)
	ak := func(guid, domain string) *models.ActualLRPKey {
		k := models.NewActualLRPKey(guid, 0, domain)
		return &k
	}
	ik := func(instance, cell string) *models.ActualLRPInstanceKey {
		k := models.NewActualLRPInstanceKey(instance, cell)
		return &k
	}
	net := &models.ActualLRPNetInfo{Address: "10.0.0.1", InstanceAddress: "10.255.0.1"}
	cases := []struct {
		name, path string
		req        proto.Message
		want       string
	}{
		{"claim: instance guid", "/v1/actual_lrps/claim", &models.ClaimActualLRPRequest{ProcessGuid: "app", ActualLrpInstanceKey: ik(long, "c")}, "instance_guid"},
		{"claim: cell id", "/v1/actual_lrps/claim", &models.ClaimActualLRPRequest{ProcessGuid: "app", ActualLrpInstanceKey: ik("i", long)}, "cell_id"},
		{"start: process guid", "/v1/actual_lrps/start.r1", &models.StartActualLRPRequest{ActualLrpKey: ak(long, "d"), ActualLrpInstanceKey: ik("i", "c"), ActualLrpNetInfo: net}, "process_guid"},
		{"start: domain", "/v1/actual_lrps/start.r1", &models.StartActualLRPRequest{ActualLrpKey: ak("app", long), ActualLrpInstanceKey: ik("i", "c"), ActualLrpNetInfo: net}, "domain"},
		{"start: cell id", "/v1/actual_lrps/start.r1", &models.StartActualLRPRequest{ActualLrpKey: ak("app", "d"), ActualLrpInstanceKey: ik("i", long), ActualLrpNetInfo: net}, "cell_id"},
		{"crash: instance guid", "/v1/actual_lrps/crash", &models.CrashActualLRPRequest{ActualLrpKey: ak("app", "d"), ActualLrpInstanceKey: ik(long, "c")}, "instance_guid"},
		{"evacuate running: cell id", "/v1/actual_lrps/evacuate_running.r1", &models.EvacuateRunningActualLRPRequest{ActualLrpKey: ak("app", "d"), ActualLrpInstanceKey: ik("i", long), ActualLrpNetInfo: net}, "cell_id"},
		{"evacuate claimed: instance guid", "/v1/actual_lrps/evacuate_claimed", &models.EvacuateClaimedActualLRPRequest{ActualLrpKey: ak("app", "d"), ActualLrpInstanceKey: ik(long, "c")}, "instance_guid"},
		{"start task: cell id", "/v1/tasks/start", &models.StartTaskRequest{TaskGuid: "task", CellId: long}, "cell_id"},
		{"complete task: cell id", "/v1/tasks/complete", &models.CompleteTaskRequest{TaskGuid: "task", CellId: long}, "cell_id"},
		{"update desired: process guid", "/v1/desired_lrp/update", &models.UpdateDesiredLRPRequest{ProcessGuid: long, Update: &models.DesiredLRPUpdate{}}, "process_guid"},
		{"desire: domain", "/v1/desired_lrp/desire.r2", &models.DesireLRPRequest{DesiredLrp: desiredLRP("app2", long, 1, "s")}, "domain"},
		{"upsert domain", "/v1/domains/upsert", &models.UpsertDomainRequest{Domain: long}, "domain"},
	}
	testdb.Each(t, func(t *testing.T, driver, dsn string) {
		h := bbstest.Start(t, bbstest.Options{Driver: driver, DSN: dsn})
		c := mtlsClient(t, h.Certs, false)
		must(t, h.Client.DesireLRP(logger, "", desiredLRP("app", "d", 1, "s")))
		must(t, h.Client.DesireTask(logger, "", "task", "d", taskDef("s")))
		for _, tc := range cases {
			resp, body := call(t, c, http.MethodPost, h.URL+tc.path, mustMarshal(t, tc.req))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d", tc.name, resp.StatusCode)
			}
			var out models.TaskLifecycleResponse // error is field 1 of every response
			if err := proto.Unmarshal(body, &out); err != nil {
				t.Fatalf("%s: response is not protobuf: %v", tc.name, err)
			}
			if out.Error == nil || out.Error.Type != models.Error_InvalidRequest || !strings.Contains(out.Error.Message, tc.want) ||
				!strings.Contains(out.Error.Message, "255") {
				t.Errorf("%s: error = %+v, want InvalidRequest saying %s is longer than 255 bytes", tc.name, out.Error, tc.want)
			}
		}
		// Nothing of the refused requests was stored.
		lrps, err := h.Client.ActualLRPs(logger, "", models.ActualLRPFilter{})
		must(t, err)
		if len(lrps) != 1 || lrps[0].State != models.ActualLRPStateUnclaimed {
			t.Fatalf("actual LRPs after refused requests: %+v", lrps)
		}
		task, err := h.Client.TaskByGuid(logger, "", "task")
		must(t, err)
		if task.State != models.Task_Pending || task.CellId != "" {
			t.Fatalf("task after refused requests: %s on %q", task.State, task.CellId)
		}
	})
}
