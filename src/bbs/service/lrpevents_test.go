package service

import (
	"slices"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
)

func lrp(presence models.ActualLRP_Presence, state, guid, cell string) *models.ActualLRP {
	a := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey("web", 0, "d"), State: state, Presence: presence, Since: 1}
	if guid != "" {
		a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey(guid, cell)
	}
	return a
}

// TestGroupEvents checks the group events of the changes the reference's
// event calculator has cases for.
func TestGroupEvents(t *testing.T) {
	running := lrp(models.ActualLRP_Ordinary, models.ActualLRPStateRunning, "g1", "cell-a")
	suspect := lrp(models.ActualLRP_Suspect, models.ActualLRPStateRunning, "g1", "cell-a")
	replacement := lrp(models.ActualLRP_Ordinary, models.ActualLRPStateRunning, "g2", "cell-b")
	evacuating := lrp(models.ActualLRP_Evacuating, models.ActualLRPStateRunning, "g1", "cell-a")
	unclaimed := lrp(models.ActualLRP_Ordinary, models.ActualLRPStateUnclaimed, "", "")
	claimed := lrp(models.ActualLRP_Ordinary, models.ActualLRPStateClaimed, "g2", "cell-b")
	crashed := lrp(models.ActualLRP_Ordinary, models.ActualLRPStateCrashed, "g1", "cell-a")

	for _, tc := range []struct {
		name    string
		before  []*models.ActualLRP
		changes []lifecycle.Change
		crashed bool
		want    []string
	}{
		{"created", nil, []lifecycle.Change{{After: unclaimed}}, false, []string{"actual_lrp_created:UNCLAIMED"}},
		{"claimed", []*models.ActualLRP{unclaimed}, []lifecycle.Change{{Before: unclaimed, After: claimed}}, false,
			[]string{"actual_lrp_changed:CLAIMED"}},
		{"an ordinary instance replaces a suspect", []*models.ActualLRP{suspect, claimed},
			[]lifecycle.Change{{Before: claimed, After: replacement}, {Before: suspect}}, false,
			[]string{"actual_lrp_created:RUNNING", "actual_lrp_removed:RUNNING"}},
		{"evacuation: running copy first", []*models.ActualLRP{running},
			[]lifecycle.Change{{Before: running, After: evacuating}, {After: unclaimed}}, false,
			[]string{"actual_lrp_created:RUNNING", "actual_lrp_changed:UNCLAIMED"}},
		{"crash and restart", []*models.ActualLRP{running}, []lifecycle.Change{{Before: running, After: unclaimed}}, true,
			[]string{"actual_lrp_crashed:", "actual_lrp_changed:UNCLAIMED"}},
		{"crash without restart", []*models.ActualLRP{running}, []lifecycle.Change{{Before: running, After: crashed}}, false,
			[]string{"actual_lrp_crashed:", "actual_lrp_changed:CRASHED"}},
		{"removed", []*models.ActualLRP{unclaimed}, []lifecycle.Change{{Before: unclaimed}}, false,
			[]string{"actual_lrp_removed:UNCLAIMED"}},
		{"nothing changed", []*models.ActualLRP{running}, []lifecycle.Change{{Before: running, After: running}}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range groupEvents(tc.before, tc.changes, tc.crashed) {
				got = append(got, e.EventType()+":"+groupEventState(e))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
		})
	}
}

// groupEventState is the resolved state a group event leaves (removed: the
// state removed).
func groupEventState(e models.Event) string {
	var g *models.ActualLRPGroup //lint:ignore SA1019 deprecated events under test
	switch e := e.(type) {
	case *models.ActualLRPCreatedEvent: //lint:ignore SA1019 deprecated events under test
		g = e.ActualLrpGroup
	case *models.ActualLRPRemovedEvent: //lint:ignore SA1019 deprecated events under test
		g = e.ActualLrpGroup
	case *models.ActualLRPChangedEvent: //lint:ignore SA1019 deprecated events under test
		g = e.After
	default:
		return ""
	}
	l, _, err := g.Resolve()
	if err != nil {
		return err.Error()
	}
	return l.State
}

// TestInstanceEvents checks the instance events of the same kinds of change.
func TestInstanceEvents(t *testing.T) {
	running := lrp(models.ActualLRP_Ordinary, models.ActualLRPStateRunning, "g1", "cell-a")
	evacuating := lrp(models.ActualLRP_Evacuating, models.ActualLRPStateRunning, "g1", "cell-a")
	unclaimed := lrp(models.ActualLRP_Ordinary, models.ActualLRPStateUnclaimed, "", "")
	failed := lrp(models.ActualLRP_Ordinary, models.ActualLRPStateUnclaimed, "", "")
	failed.PlacementError = "no room"
	crashed := lrp(models.ActualLRP_Ordinary, models.ActualLRPStateCrashed, "g1", "cell-a")

	for _, tc := range []struct {
		name    string
		changes []lifecycle.Change
		crashed bool
		want    []string
	}{
		{"crash and restart: a new instance", []lifecycle.Change{{Before: running, After: unclaimed}}, true,
			[]string{"actual_lrp_crashed", "actual_lrp_instance_created", "actual_lrp_instance_removed"}},
		{"crash without restart", []lifecycle.Change{{Before: running, After: crashed}}, true,
			[]string{"actual_lrp_crashed", "actual_lrp_instance_changed"}},
		{"stopped on its cell: a new instance", []lifecycle.Change{{Before: running, After: unclaimed}}, false,
			[]string{"actual_lrp_instance_created", "actual_lrp_instance_removed"}},
		{"placement failed", []lifecycle.Change{{Before: unclaimed, After: failed}}, false,
			[]string{"actual_lrp_instance_changed"}},
		{"evacuation: the running copy first", []lifecycle.Change{{After: unclaimed}, {Before: running, After: evacuating}}, false,
			[]string{"actual_lrp_instance_changed", "actual_lrp_instance_created"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range instanceEvents(tc.changes, tc.crashed) {
				got = append(got, e.EventType())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
		})
	}
}
