// Package auctionapi is the auctioneer's HTTP API on the wire: the start requests the BBS sends and the auctioneer places, their routes and validation, in the reference auctioneer's JSON.
package auctionapi

import (
	"errors"
	"fmt"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

// Routes of the auctioneer's HTTP API (both POST, both answer 202 Accepted).
const (
	LRPsPath  = "/v1/lrps"
	TasksPath = "/v1/tasks"
)

// LRPStartRequest asks for some instances of one desired LRP to be placed.
// Its JSON is the reference auctioneer's: process_guid, domain, indices,
// then the fields of rep.PlacementConstraint (PlacementTags, VolumeDrivers,
// RootFs) and rep.Resource (MemoryMB, DiskMB, MaxPids), embedded untagged.
type LRPStartRequest struct {
	ProcessGuid string  `json:"process_guid"`
	Domain      string  `json:"domain"`
	Indices     []int32 `json:"indices"`
	rep.PlacementConstraint
	rep.Resource
}

// TaskStartRequest asks for one task to be placed. Its JSON is rep.Task's
// fields (TaskGuid, Domain, the constraint and resource fields, state,
// failed), as the reference auctioneer's.
type TaskStartRequest struct {
	rep.Task
}

// Validate reports what makes r unplaceable.
func (r LRPStartRequest) Validate() error {
	var errs []error
	if r.ProcessGuid == "" {
		errs = append(errs, errors.New("process_guid is empty"))
	}
	if r.Domain == "" {
		errs = append(errs, errors.New("domain is empty"))
	}
	if len(r.Indices) == 0 {
		errs = append(errs, errors.New("indices is empty"))
	}
	for _, i := range r.Indices {
		if i < 0 {
			errs = append(errs, fmt.Errorf("index %d is negative", i))
			break
		}
	}
	errs = append(errs, validateResource(r.Resource, r.PlacementConstraint)...)
	return errors.Join(errs...)
}

// Validate reports what makes t unplaceable.
func (t TaskStartRequest) Validate() error {
	var errs []error
	if t.TaskGuid == "" {
		errs = append(errs, errors.New("TaskGuid is empty"))
	}
	errs = append(errs, validateResource(t.Resource, t.PlacementConstraint)...)
	return errors.Join(errs...)
}

func validateResource(r rep.Resource, pc rep.PlacementConstraint) []error {
	var errs []error
	if r.MemoryMB < 0 || r.DiskMB < 0 || r.MaxPids < 0 {
		errs = append(errs, fmt.Errorf("MemoryMB %d, DiskMB %d and MaxPids %d must not be negative", r.MemoryMB, r.DiskMB, r.MaxPids))
	}
	if pc.RootFs == "" {
		errs = append(errs, errors.New("RootFs is empty"))
	}
	return errs
}

// NewLRPStartRequest builds the request for some indices of the desired LRP
// described by info (nil VolumePlacement means no volume drivers).
func NewLRPStartRequest(info *models.DesiredLRPSchedulingInfo, indices []int32) LRPStartRequest {
	var drivers []string
	if info.VolumePlacement != nil {
		drivers = info.VolumePlacement.DriverNames
	}
	return LRPStartRequest{
		ProcessGuid:         info.ProcessGuid,
		Domain:              info.Domain,
		Indices:             indices,
		PlacementConstraint: rep.NewPlacementConstraint(info.RootFs, info.PlacementTags, drivers),
		Resource:            rep.NewResource(info.MemoryMb, info.DiskMb, info.MaxPids),
	}
}

// NewTaskStartRequest builds the request for task (its definition must be set).
func NewTaskStartRequest(task *models.Task) TaskStartRequest {
	def := task.TaskDefinition
	if def == nil {
		def = &models.TaskDefinition{}
	}
	var drivers []string
	for _, m := range def.VolumeMounts {
		if m != nil {
			drivers = append(drivers, m.Driver)
		}
	}
	return TaskStartRequest{rep.NewTask(task.TaskGuid, task.Domain,
		rep.NewResource(def.MemoryMb, def.DiskMb, def.MaxPids),
		rep.NewPlacementConstraint(def.RootFs, def.PlacementTags, drivers))}
}

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
}
