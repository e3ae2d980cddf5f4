// Package reftest holds the reference auctioneer's start requests, as its
// client marshals them, for the compatibility tests of our client and server.
package reftest

import "code.cloudfoundry.org/rep"

// LRPStartRequest is the reference auctioneer's LRP start request
// (code.cloudfoundry.org/auctioneer resources.go): untagged embedded rep
// structs and indices as []int.
type LRPStartRequest struct {
	ProcessGuid string `json:"process_guid"`
	Domain      string `json:"domain"`
	Indices     []int  `json:"indices"`
	rep.PlacementConstraint
	rep.Resource
}

// TaskStartRequest is the reference auctioneer's task start request: a
// rep.Task.
type TaskStartRequest struct {
	rep.Task
}

// The same requests, byte for byte as the reference client sends them:
// LRPsJSON is LRPs() and TasksJSON is Tasks() marshalled.
const (
	LRPsJSON  = `[{"process_guid":"pg-1","domain":"cf-apps","indices":[0,2],"PlacementTags":["gpu"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4","MemoryMB":256,"DiskMB":1024,"MaxPids":100}]`
	TasksJSON = `[{"TaskGuid":"tg-1","Domain":"cf-tasks","PlacementTags":null,"VolumeDrivers":null,"RootFs":"docker:///busybox","MemoryMB":128,"DiskMB":512,"MaxPids":0,"state":"Invalid","failed":false}]`
)

// LRPs is the reference LRP start requests whose JSON is LRPsJSON.
func LRPs() []LRPStartRequest {
	return []LRPStartRequest{{ProcessGuid: "pg-1", Domain: "cf-apps", Indices: []int{0, 2},
		PlacementConstraint: rep.NewPlacementConstraint("preloaded:cflinuxfs4", []string{"gpu"}, []string{"nfs"}),
		Resource:            rep.NewResource(256, 1024, 100)}}
}

// Tasks is the reference task start requests whose JSON is TasksJSON.
func Tasks() []TaskStartRequest {
	return []TaskStartRequest{{rep.NewTask("tg-1", "cf-tasks", rep.NewResource(128, 512, 0), rep.NewPlacementConstraint("docker:///busybox", nil, nil))}}
}
