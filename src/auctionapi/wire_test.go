package auctionapi

import (
	"encoding/json"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/auctionapi/reftest"
)

func TestReferenceJSONShapes(t *testing.T) {
	ours := roundTrip[LRPStartRequest](t, "LRP", reftest.LRPs(), reftest.LRPsJSON)
	if o := ours[0]; o.ProcessGuid != "pg-1" || o.Domain != "cf-apps" || len(o.Indices) != 2 || o.Indices[1] != 2 ||
		o.RootFs != "preloaded:cflinuxfs4" || o.PlacementTags[0] != "gpu" || o.VolumeDrivers[0] != "nfs" ||
		o.MemoryMB != 256 || o.DiskMB != 1024 || o.MaxPids != 100 {
		t.Errorf("decoded %+v", o)
	}
	roundTrip[TaskStartRequest](t, "task", reftest.Tasks(), reftest.TasksJSON)
}

// roundTrip checks that ref marshals to refJSON and that refJSON decodes
// into []T and marshals back byte for byte; it returns the decoded requests.
func roundTrip[T any](t *testing.T, kind string, ref any, refJSON string) []T {
	t.Helper()
	if got := mustJSON(t, ref); got != refJSON {
		t.Fatalf("reference %s JSON changed:\n got %s\nwant %s", kind, got, refJSON)
	}
	var ours []T
	if err := json.Unmarshal([]byte(refJSON), &ours); err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(t, ours); got != refJSON {
		t.Errorf("our %T does not round-trip the reference JSON:\n got %s\nwant %s", ours, got, refJSON)
	}
	return ours
}

func TestNewStartRequestsFromModels(t *testing.T) {
	info := &models.DesiredLRPSchedulingInfo{
		DesiredLRPKey:      models.NewDesiredLRPKey("pg", "cf-apps", "log"),
		DesiredLRPResource: models.NewDesiredLRPResource(512, 2048, 64, "preloaded:cflinuxfs4"),
		PlacementTags:      []string{"a"},
		VolumePlacement:    &models.VolumePlacement{DriverNames: []string{"nfs"}},
	}
	got := NewLRPStartRequest(info, []int32{3})
	want := LRPStartRequest{ProcessGuid: "pg", Domain: "cf-apps", Indices: []int32{3},
		PlacementConstraint: rep.NewPlacementConstraint("preloaded:cflinuxfs4", []string{"a"}, []string{"nfs"}),
		Resource:            rep.NewResource(512, 2048, 64)}
	if mustJSON(t, got) != mustJSON(t, want) {
		t.Errorf("NewLRPStartRequest = %+v", got)
	}
	info.VolumePlacement = nil
	if r := NewLRPStartRequest(info, []int32{0}); r.VolumeDrivers != nil {
		t.Errorf("nil volume placement gave drivers %v", r.VolumeDrivers)
	}

	task := &models.Task{TaskGuid: "tg", Domain: "d", TaskDefinition: &models.TaskDefinition{
		RootFs: "docker:///x", MemoryMb: 64, DiskMb: 128, MaxPids: 9, PlacementTags: []string{"p"},
		VolumeMounts: []*models.VolumeMount{{Driver: "smb"}},
	}}
	tr := NewTaskStartRequest(task)
	if tr.TaskGuid != "tg" || tr.Domain != "d" || tr.RootFs != "docker:///x" || tr.MemoryMB != 64 || tr.DiskMB != 128 ||
		tr.MaxPids != 9 || tr.PlacementTags[0] != "p" || tr.VolumeDrivers[0] != "smb" {
		t.Errorf("NewTaskStartRequest = %+v", tr)
	}
	if err := NewTaskStartRequest(&models.Task{TaskGuid: "x"}).Validate(); err == nil {
		t.Error("a task without a definition validated")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
