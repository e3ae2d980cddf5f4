package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// TestReferenceToolViews runs the commands the reference tool prints the
// deprecated views with, against a real BBS, and checks that they reach it
// through the reference tool's routes.
func TestReferenceToolViews(t *testing.T) {
	c := newCluster(t)
	bc, log := c.h.Client, c.h.Log
	c.ok("create-desired-lrp", strings.Replace(lrpSpec, "pg-1", "pg-g", 1))
	key := models.NewActualLRPKey("pg-g", 0, "d1")
	ik := models.NewActualLRPInstanceKey("ig-0", "cell-g")
	net := models.NewActualLRPNetInfo("10.0.0.7", "", models.ActualLRPNetInfo_PreferredAddressHost)
	mustOK(t, bc.ClaimActualLRP(log, "", &key, &ik))
	mustOK(t, bc.StartActualLRP(log, "", &key, &ik, &net, nil, nil, true, ""))
	if _, err := bc.EvacuateRunningActualLRP(log, "", &key, &ik, &net, nil, nil, true, ""); err != nil {
		t.Fatal(err)
	}

	all, err := bc.ActualLRPGroups(log, "", models.ActualLRPFilter{})
	mustOK(t, err)
	if len(all) != 2 {
		t.Fatalf("groups: %v", all)
	}
	same(t, "actual-lrp-groups", c.ok("actual-lrp-groups"), jsonLines(t, all))
	onCell, _ := bc.ActualLRPGroups(log, "", models.ActualLRPFilter{CellID: "cell-g"})
	same(t, "actual-lrp-groups -c", c.ok("actual-lrp-groups", "-c", "cell-g"), jsonLines(t, onCell))
	same(t, "actual-lrp-groups --domain", c.ok("actual-lrp-groups", "--domain", "other"), "")
	byGuid, _ := bc.ActualLRPGroupsByProcessGuid(log, "", "pg-g")
	same(t, "actual-lrp-groups-for-guid", c.ok("actual-lrp-groups-for-guid", "pg-g"), jsonLines(t, byGuid))
	one, _ := bc.ActualLRPGroupByProcessGuidAndIndex(log, "", "pg-g", 0)
	same(t, "actual-lrp-groups-for-guid -i", c.ok("actual-lrp-groups-for-guid", "pg-g", "-i", "0"),
		jsonLines(t, []*models.ActualLRPGroup{one})) //lint:ignore SA1019 the deprecated view under test
	if one.Instance == nil || one.Evacuating == nil || one.Evacuating.CellId != "cell-g" {
		t.Fatalf("group 0: %+v", one)
	}
	table := c.ok("-o", "table", "actual-lrp-groups-for-guid", "pg-g", "--index", "0")
	if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[0], "EVACUATING_ON") ||
		!strings.HasSuffix(strings.TrimSpace(lines[1]), "cell-g") {
		t.Fatalf("table:\n%s", table)
	}
	if _, stderr, err := c.run("actual-lrp-groups-for-guid", "pg-g", "-i", "9"); ExitCode(err) != 1 ||
		!strings.HasPrefix(stderr, "error: ResourceNotFound: ") {
		t.Fatalf("missing index: %v %q", err, stderr)
	}
	if _, _, err := c.run("actual-lrp-groups-for-guid", "pg-g", "-i", "x"); ExitCode(err) != 2 {
		t.Fatalf("bad index: %v", err)
	}
	infos, _ := bc.DesiredLRPSchedulingInfos(log, "", models.DesiredLRPFilter{})
	same(t, "desired-lrp-scheduling-infos", c.ok("desired-lrp-scheduling-infos"), jsonLines(t, infos))

	// lrp-events reads the group stream: a new LRP's instance arrives as actual_lrp_created
	got := firstEvents(t, c, 2, []string{"lrp-events"}, func(i int) {
		c.ok("create-desired-lrp", strings.Replace(lrpSpec, `"pg-1"`, fmt.Sprintf(`"pg-ev-%d"`, i), 1))
	})
	if got[0] != models.EventTypeDesiredLRPCreated || got[1] != models.EventTypeActualLRPCreated { //lint:ignore SA1019 the stream under test
		t.Fatalf("lrp-events: %v", got)
	}

	metrics := metricsText(t, "http://"+c.h.Daemon.HealthAddr()+"/metrics")
	for _, route := range []string{"/v1/actual_lrp_groups/list", "/v1/actual_lrp_groups/list_by_process_guid",
		"/v1/actual_lrp_groups/get_by_process_guid_and_index", "/v1/desired_lrp_scheduling_infos/list"} {
		if !strings.Contains(metrics, `bbs_requests_total{outcome="ok",route="`+route+`"}`) {
			t.Errorf("no request reached %s", route)
		}
	}
}

// firstEvents runs an event command until it has printed n events, calling
// trigger (with a new number each time) until they arrive: the subscription
// starts asynchronously. It returns the events' types.
func firstEvents(t *testing.T, c *cluster, n int, args []string, trigger func(i int)) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, _, err := c.runCtx(ctx, append(args, "--count", fmt.Sprint(n))...)
		done <- result{out, err}
	}()
	var r result
	for i := 0; ; i++ {
		trigger(i)
		select {
		case r = <-done:
		case <-time.After(300 * time.Millisecond):
			continue
		}
		break
	}
	if r.err != nil {
		t.Fatalf("%v: %v", args, r.err)
	}
	var types []string
	dec := json.NewDecoder(strings.NewReader(r.out))
	for {
		var ev struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := dec.Decode(&ev); errors.Is(err, io.EOF) {
			break
		} else if err != nil || len(ev.Data) < 3 {
			t.Fatalf("%v printed %q: %v", args, r.out, err)
		}
		types = append(types, ev.Type)
	}
	if len(types) != n {
		t.Fatalf("%v printed %d events, want %d: %q", args, len(types), n, r.out)
	}
	return types
}

func metricsText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	mustOK(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	mustOK(t, err)
	return string(b)
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
