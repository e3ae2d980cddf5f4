package acceptance

import (
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// testBadRequests checks that the BBS answers bad requests with the typed
// errors clients rely on.
func testBadRequests(t *testing.T, e *env) {
	d := e.domain(t)
	missing := guid(t, "missing")

	t.Run("invalid desired LRP is InvalidRequest", func(t *testing.T) {
		for name, lrp := range map[string]*models.DesiredLRP{
			"no action":          {ProcessGuid: guid(t, "a"), Domain: d, RootFs: e.cfg.RootFS, Instances: 1},
			"no process guid":    e.appLRP("", d, 1),
			"no domain":          e.appLRP(guid(t, "b"), "", 1),
			"negative instances": e.appLRP(guid(t, "c"), d, -1),
		} {
			err := e.client.DesireLRP(e.logger, "", lrp)
			if errType(err) != models.Error_InvalidRequest {
				t.Errorf("%s: DesireLRP = %v, want InvalidRequest", name, err)
				if err == nil {
					_ = e.client.RemoveDesiredLRP(e.logger, "", lrp.ProcessGuid)
				}
			}
		}
		err := e.client.DesireTask(e.logger, "", guid(t, "task"), d, &models.TaskDefinition{RootFs: e.cfg.RootFS})
		if errType(err) != models.Error_InvalidRequest {
			t.Errorf("task without an action: DesireTask = %v, want InvalidRequest", err)
		}
	})

	t.Run("unknown guid is ResourceNotFound", func(t *testing.T) {
		_, err := e.client.DesiredLRPByProcessGuid(e.logger, "", missing)
		if errType(err) != models.Error_ResourceNotFound {
			t.Errorf("DesiredLRPByProcessGuid: %v, want ResourceNotFound", err)
		}
		var u models.DesiredLRPUpdate
		u.SetInstances(2)
		if err := e.client.UpdateDesiredLRP(e.logger, "", missing, &u); errType(err) != models.Error_ResourceNotFound {
			t.Errorf("UpdateDesiredLRP: %v, want ResourceNotFound", err)
		}
		if err := e.client.RemoveDesiredLRP(e.logger, "", missing); errType(err) != models.Error_ResourceNotFound {
			t.Errorf("RemoveDesiredLRP: %v, want ResourceNotFound", err)
		}
		if _, err := e.client.TaskByGuid(e.logger, "", missing); errType(err) != models.Error_ResourceNotFound {
			t.Errorf("TaskByGuid: %v, want ResourceNotFound", err)
		}
		if err := e.client.CancelTask(e.logger, "", missing); errType(err) != models.Error_ResourceNotFound {
			t.Errorf("CancelTask: %v, want ResourceNotFound", err)
		}
	})

	t.Run("duplicate is ResourceExists", func(t *testing.T) {
		g := guid(t, "app")
		e.desire(t, e.appLRP(g, d, 0))
		if err := e.client.DesireLRP(e.logger, "", e.appLRP(g, d, 0)); errType(err) != models.Error_ResourceExists {
			t.Errorf("desiring LRP %s twice: %v, want ResourceExists", g, err)
		}
		def := e.taskDef("true", "")
		tg := e.desireTask(t, d, def)
		if err := e.client.DesireTask(e.logger, "", tg, d, def); errType(err) != models.Error_ResourceExists {
			t.Errorf("desiring task %s twice: %v, want ResourceExists", tg, err)
		}
		e.waitTask(t, tg, models.Task_Completed, 60*time.Second)
	})
}
