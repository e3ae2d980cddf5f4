package server

import (
	"encoding/json"
	"fmt"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"
)

// fuzzRequests are the request bodies the BBS's routes decode.
var fuzzRequests = []func() proto.Message{
	func() proto.Message { return &models.ActualLRPGroupByProcessGuidAndIndexRequest{} },
	func() proto.Message { return &models.ActualLRPGroupsByProcessGuidRequest{} },
	func() proto.Message { return &models.ActualLRPGroupsRequest{} },
	func() proto.Message { return &models.ActualLRPsRequest{} },
	func() proto.Message { return &models.ClaimActualLRPRequest{} },
	func() proto.Message { return &models.CompleteTaskRequest{} },
	func() proto.Message { return &models.CrashActualLRPRequest{} },
	func() proto.Message { return &models.DesireLRPRequest{} },
	func() proto.Message { return &models.DesireTaskRequest{} },
	func() proto.Message { return &models.DesiredLRPByProcessGuidRequest{} },
	func() proto.Message { return &models.DesiredLRPsRequest{} },
	func() proto.Message { return &models.EvacuateClaimedActualLRPRequest{} },
	func() proto.Message { return &models.EvacuateCrashedActualLRPRequest{} },
	func() proto.Message { return &models.EvacuateRunningActualLRPRequest{} },
	func() proto.Message { return &models.EvacuateStoppedActualLRPRequest{} },
	func() proto.Message { return &models.FailActualLRPRequest{} },
	func() proto.Message { return &models.FailTaskRequest{} },
	func() proto.Message { return &models.RejectTaskRequest{} },
	func() proto.Message { return &models.RemoveActualLRPRequest{} },
	func() proto.Message { return &models.RemoveDesiredLRPRequest{} },
	func() proto.Message { return &models.RemoveEvacuatingActualLRPRequest{} },
	func() proto.Message { return &models.RetireActualLRPRequest{} },
	func() proto.Message { return &models.StartActualLRPRequest{} },
	func() proto.Message { return &models.StartTaskRequest{} },
	func() proto.Message { return &models.TaskByGuidRequest{} },
	func() proto.Message { return &models.TaskGuidRequest{} },
	func() proto.Message { return &models.TasksRequest{} },
	func() proto.Message { return &models.UpdateDesiredLRPRequest{} },
	func() proto.Message { return &models.UpsertDomainRequest{} },
}

// FuzzValidateRequest: whatever bytes reach a route, decoding and
// validating them never panics (the first byte picks the request type).
// Two panics of the reference's Validate were found this way; the seeds
// hold them.
func FuzzValidateRequest(f *testing.F) {
	seed := func(kind int, m proto.Message) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(kind)}, b...))
	}
	for i, mk := range fuzzRequests {
		seed(i, mk())
		switch m := mk().(type) {
		case *models.DesireLRPRequest:
			raw := json.RawMessage("{")
			seed(i, &models.DesireLRPRequest{DesiredLrp: &models.DesiredLRP{ProcessGuid: "p", Domain: "d", RootFs: "preloaded:x",
				MetricTags: map[string]*models.MetricTagValue{"x": nil}, Routes: &models.Routes{"r": &raw},
				Action: models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"})}})
		case *models.UpdateDesiredLRPRequest:
			seed(i, &models.UpdateDesiredLRPRequest{ProcessGuid: "p"})
			seed(i, &models.UpdateDesiredLRPRequest{ProcessGuid: "p", Update: &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{"x": nil}}})
		case *models.DesireTaskRequest:
			seed(i, &models.DesireTaskRequest{TaskGuid: "t", Domain: "d", TaskDefinition: &models.TaskDefinition{
				MetricTags: map[string]*models.MetricTagValue{"x": nil}}})
		default:
			_ = m
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		req := fuzzRequests[int(data[0])%len(fuzzRequests)]()
		if proto.Unmarshal(data[1:], req) != nil {
			return
		}
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("validating %s %s panicked: %v", proto.MessageName(req), fmt.Sprintf("%x", data[1:]), r)
			}
		}()
		_ = validate(req)
	})
}
