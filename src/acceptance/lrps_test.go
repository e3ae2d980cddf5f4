package acceptance

import (
	"encoding/json"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

func testLRPs(t *testing.T, e *env) {
	t.Run("desire, scale, update routes, delete", func(t *testing.T) {
		t.Parallel()
		testLRPLifecycle(t, e)
	})
	t.Run("RUNNING only once the app listens", func(t *testing.T) {
		t.Parallel()
		testHealthyMeansListening(t, e)
	})
}

// testHealthyMeansListening desires an app that listens only 3 s after it
// starts: its tcp check must not pass before, so once the BBS says RUNNING
// the app answers.
func testHealthyMeansListening(t *testing.T, e *env) {
	d := e.domain(t)
	g := guid(t, "app")
	start := time.Now()
	e.desire(t, e.appLRP(g, d, 2, &models.EnvironmentVariable{Name: "LISTEN_AFTER", Value: "3s"}))
	lrps := e.waitRunning(t, g, 2, 60*time.Second)
	took := time.Since(start)
	expectHello(t, lrps)
	if took < 3*time.Second {
		t.Errorf("RUNNING %s after desire, before the app listened (LISTEN_AFTER=3s): the health check passed without the app", took.Round(time.Millisecond))
	}
}

func testLRPLifecycle(t *testing.T, e *env) {
	d := e.domain(t)
	g := guid(t, "app")
	e.desire(t, e.appLRP(g, d, 10))

	lrps := e.waitRunning(t, g, 10, 90*time.Second)
	expectHello(t, lrps)
	for _, l := range lrps[:1] {
		if code, _, err := get(l, "/health"); err != nil || code != 200 {
			t.Errorf("GET /health = %d (%v)", code, err)
		}
		_, body, err := get(l, "/env")
		var env map[string]string
		if err == nil {
			err = json.Unmarshal([]byte(body), &env)
		}
		if err != nil || env["INSTANCE_GUID"] != l.InstanceGuid || env["INSTANCE_INDEX"] != "0" {
			t.Errorf("GET /env: %v; INSTANCE_GUID=%q INSTANCE_INDEX=%q", err, env["INSTANCE_GUID"], env["INSTANCE_INDEX"])
		}
	}

	scale := func(n int32) {
		t.Helper()
		var u models.DesiredLRPUpdate
		u.SetInstances(n)
		if err := e.client.UpdateDesiredLRP(e.logger, "", g, &u); err != nil {
			t.Fatalf("scaling to %d: %v", n, err)
		}
	}
	t.Log("scale up to 14")
	scale(14)
	before := map[int32]string{}
	for _, l := range lrps {
		before[l.Index] = l.InstanceGuid
	}
	lrps = e.waitRunning(t, g, 14, 60*time.Second)
	for _, l := range lrps[:10] {
		if before[l.Index] != l.InstanceGuid {
			t.Errorf("scaling up replaced instance %d (%s -> %s)", l.Index, before[l.Index], l.InstanceGuid)
		}
	}
	expectHello(t, lrps[10:])

	t.Log("scale down to 4")
	removed := lrps[4:]
	scale(4)
	lrps = e.waitRunning(t, g, 4, 60*time.Second)
	expectHello(t, lrps)
	testutil.Eventually(t, 30*time.Second, "scaled-down instances stop answering", func() (bool, string) {
		for _, l := range removed {
			if _, _, err := get(l, "/"); err == nil {
				return false, "instance " + l.InstanceGuid + " still answers"
			}
		}
		return true, ""
	})

	t.Log("update routes")
	desired, err := e.client.DesiredLRPByProcessGuid(e.logger, "", g)
	if err != nil {
		t.Fatal(err)
	}
	routeJSON := json.RawMessage(`[{"hostnames":["` + g + `.apps.example.com"],"port":8080}]`)
	routes := models.Routes{"cf-router": &routeJSON}
	if err := e.client.UpdateDesiredLRP(e.logger, "", g, &models.DesiredLRPUpdate{Routes: &routes}); err != nil {
		t.Fatalf("updating routes: %v", err)
	}
	updated, err := e.client.DesiredLRPByProcessGuid(e.logger, "", g)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Routes == nil || !updated.Routes.Equal(routes) {
		t.Errorf("routes after update = %v, want %v", updated.Routes, routes)
	}
	if updated.Instances != 4 {
		t.Errorf("instances after a routes update = %d, want 4", updated.Instances)
	}
	if !desired.ModificationTag.SucceededBy(updated.ModificationTag) {
		t.Errorf("modification tag %v is not after %v", updated.ModificationTag, desired.ModificationTag)
	}
	infos, err := e.client.DesiredLRPRoutingInfos(e.logger, "", models.DesiredLRPFilter{ProcessGuids: []string{g}})
	if err != nil || len(infos) != 1 || infos[0].Routes == nil || !infos[0].Routes.Equal(routes) {
		t.Errorf("routing infos: %v (%v), want the new routes", infos, err)
	}
	// instances keep running through a routes update
	after := e.waitRunning(t, g, 4, 10*time.Second)
	for i, l := range after {
		if l.InstanceGuid != lrps[i].InstanceGuid {
			t.Errorf("a routes update replaced instance %d", l.Index)
		}
	}

	t.Log("delete")
	if err := e.client.RemoveDesiredLRP(e.logger, "", g); err != nil {
		t.Fatalf("removing: %v", err)
	}
	if _, err := e.client.DesiredLRPByProcessGuid(e.logger, "", g); errType(err) != models.Error_ResourceNotFound {
		t.Errorf("after delete, DesiredLRPByProcessGuid: %v, want ResourceNotFound", err)
	}
	testutil.Eventually(t, 30*time.Second, "actual LRPs of the deleted LRP gone", func() (bool, string) {
		left := e.actuals(t, g)
		return len(left) == 0, describe(left)
	})
	testutil.Eventually(t, 30*time.Second, "the deleted LRP's instances stop answering", func() (bool, string) {
		for _, l := range after {
			if _, _, err := get(l, "/"); err == nil {
				return false, "instance " + l.InstanceGuid + " still answers"
			}
		}
		return true, ""
	})
}
