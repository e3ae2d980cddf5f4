package server

import (
	"context"
	"net/http"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/events"
	"github.com/diego-go/diego/src/bbs/lifecycle"
	"github.com/diego-go/diego/src/bbs/store"
)

func key(k *models.ActualLRPKey) models.ActualLRPKey {
	if k == nil {
		return models.ActualLRPKey{}
	}
	return *k
}

func ikey(k *models.ActualLRPInstanceKey) models.ActualLRPInstanceKey {
	if k == nil {
		return models.ActualLRPInstanceKey{}
	}
	return *k
}

// runningInfo is what start and evacuate_running report about a healthy
// instance. Clients predating the optional routable field mean "routable".
func runningInfo(n *models.ActualLRPNetInfo, routes []*models.ActualLRPInternalRoute, tags map[string]string,
	routableExists, routable bool, zone string) lifecycle.RunningInfo {
	ri := lifecycle.RunningInfo{InternalRoutes: routes, MetricTags: tags, Routable: !routableExists || routable, AvailabilityZone: zone}
	if n != nil {
		ri.NetInfo = *n
	}
	return ri
}

func (s *Server) handle(path string, h http.HandlerFunc) { s.handleMethod("POST", path, h) }

func (s *Server) routes() {
	svc := s.svc
	s.handle("/v1/ping", func(w http.ResponseWriter, r *http.Request) {
		writeProto(w, &models.PingResponse{Available: true})
	})

	// domains
	s.handle("/v1/domains/list", func(w http.ResponseWriter, r *http.Request) {
		d, err := svc.Domains(r.Context())
		writeProto(w, &models.DomainsResponse{Domains: d, Error: s.errOf(r.Context(), err)})
	})
	s.handle("/v1/domains/upsert", rpc(s, func(ctx context.Context, req *models.UpsertDomainRequest) proto.Message {
		err := svc.UpsertDomain(ctx, req.Domain, time.Duration(req.Ttl)*time.Second)
		return &models.UpsertDomainResponse{Error: s.errOf(ctx, err)}
	}))

	// actual LRPs
	s.handle("/v1/actual_lrps/list", list(s, listActualLRPs))
	s.handle("/v1/actual_lrps/claim", rpc(s, func(ctx context.Context, req *models.ClaimActualLRPRequest) proto.Message {
		err := svc.ClaimActualLRP(ctx, req.ProcessGuid, req.Index, ikey(req.ActualLrpInstanceKey))
		return &models.ActualLRPLifecycleResponse{Error: s.errOf(ctx, err)}
	}))
	start := rpc(s, func(ctx context.Context, req *models.StartActualLRPRequest) proto.Message {
		ri := runningInfo(req.ActualLrpNetInfo, req.ActualLrpInternalRoutes, req.MetricTags, req.RoutableExists(), req.GetRoutable(), req.AvailabilityZone)
		err := svc.StartActualLRP(ctx, key(req.ActualLrpKey), ikey(req.ActualLrpInstanceKey), ri)
		return &models.ActualLRPLifecycleResponse{Error: s.errOf(ctx, err)}
	})
	s.handle("/v1/actual_lrps/start.r1", start)
	s.handle("/v1/actual_lrps/start", start)
	s.handle("/v1/actual_lrps/crash", rpc(s, func(ctx context.Context, req *models.CrashActualLRPRequest) proto.Message {
		err := svc.CrashActualLRP(ctx, key(req.ActualLrpKey), ikey(req.ActualLrpInstanceKey), req.ErrorMessage)
		return &models.ActualLRPLifecycleResponse{Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/actual_lrps/fail", rpc(s, func(ctx context.Context, req *models.FailActualLRPRequest) proto.Message {
		err := svc.FailActualLRP(ctx, key(req.ActualLrpKey), req.ErrorMessage)
		return &models.ActualLRPLifecycleResponse{Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/actual_lrps/remove", rpc(s, func(ctx context.Context, req *models.RemoveActualLRPRequest) proto.Message {
		err := svc.RemoveActualLRP(ctx, req.ProcessGuid, req.Index, req.ActualLrpInstanceKey)
		return &models.ActualLRPLifecycleResponse{Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/actual_lrps/retire", rpc(s, func(ctx context.Context, req *models.RetireActualLRPRequest) proto.Message {
		err := svc.RetireActualLRP(ctx, key(req.ActualLrpKey))
		return &models.ActualLRPLifecycleResponse{Error: s.errOf(ctx, err)}
	}))

	// evacuation
	s.handle("/v1/actual_lrps/remove_evacuating", rpc(s, func(ctx context.Context, req *models.RemoveEvacuatingActualLRPRequest) proto.Message {
		err := svc.RemoveEvacuatingActualLRP(ctx, key(req.ActualLrpKey), ikey(req.ActualLrpInstanceKey))
		return &models.RemoveEvacuatingActualLRPResponse{Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/actual_lrps/evacuate_claimed", rpc(s, func(ctx context.Context, req *models.EvacuateClaimedActualLRPRequest) proto.Message {
		keep, err := svc.EvacuateClaimedActualLRP(ctx, key(req.ActualLrpKey), ikey(req.ActualLrpInstanceKey))
		return &models.EvacuationResponse{KeepContainer: keep, Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/actual_lrps/evacuate_crashed", rpc(s, func(ctx context.Context, req *models.EvacuateCrashedActualLRPRequest) proto.Message {
		keep, err := svc.EvacuateCrashedActualLRP(ctx, key(req.ActualLrpKey), ikey(req.ActualLrpInstanceKey), req.ErrorMessage)
		return &models.EvacuationResponse{KeepContainer: keep, Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/actual_lrps/evacuate_stopped", rpc(s, func(ctx context.Context, req *models.EvacuateStoppedActualLRPRequest) proto.Message {
		keep, err := svc.EvacuateStoppedActualLRP(ctx, key(req.ActualLrpKey), ikey(req.ActualLrpInstanceKey))
		return &models.EvacuationResponse{KeepContainer: keep, Error: s.errOf(ctx, err)}
	}))
	evacRunning := rpc(s, func(ctx context.Context, req *models.EvacuateRunningActualLRPRequest) proto.Message {
		ri := runningInfo(req.ActualLrpNetInfo, req.ActualLrpInternalRoutes, req.MetricTags, req.RoutableExists(), req.GetRoutable(), req.AvailabilityZone)
		keep, err := svc.EvacuateRunningActualLRP(ctx, key(req.ActualLrpKey), ikey(req.ActualLrpInstanceKey), ri)
		return &models.EvacuationResponse{KeepContainer: keep, Error: s.errOf(ctx, err)}
	})
	s.handle("/v1/actual_lrps/evacuate_running.r1", evacRunning)
	s.handle("/v1/actual_lrps/evacuate_running", evacRunning)

	// desired LRPs
	s.handle("/v1/desired_lrps/list.r3", list(s, listDesiredLRPs))
	s.handle("/v1/desired_lrp_scheduling_infos/list", list(s, listSchedulingInfos))
	s.handle("/v1/desired_lrp_routing_infos/list", list(s, listRoutingInfos))
	s.handle("/v1/desired_lrps/get_by_process_guid.r3", rpc(s, func(ctx context.Context, req *models.DesiredLRPByProcessGuidRequest) proto.Message {
		d, err := svc.DesiredLRP(ctx, req.ProcessGuid)
		return &models.DesiredLRPResponse{DesiredLrp: servedDesiredLRP(d), Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/desired_lrp_scheduling_infos/get_by_process_guid", rpc(s, func(ctx context.Context, req *models.DesiredLRPByProcessGuidRequest) proto.Message {
		d, err := svc.SchedulingInfo(ctx, req.ProcessGuid)
		return &models.DesiredLRPSchedulingInfoByProcessGuidResponse{DesiredLrpSchedulingInfo: d, Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/desired_lrp/desire.r2", rpc(s, func(ctx context.Context, req *models.DesireLRPRequest) proto.Message {
		return &models.DesiredLRPLifecycleResponse{Error: s.errOf(ctx, svc.DesireLRP(ctx, req.DesiredLrp))}
	}))
	s.handle("/v1/desired_lrp/update", rpc(s, func(ctx context.Context, req *models.UpdateDesiredLRPRequest) proto.Message {
		return &models.DesiredLRPLifecycleResponse{Error: s.errOf(ctx, svc.UpdateDesiredLRP(ctx, req.ProcessGuid, req.Update))}
	}))
	s.handle("/v1/desired_lrp/remove", rpc(s, func(ctx context.Context, req *models.RemoveDesiredLRPRequest) proto.Message {
		return &models.DesiredLRPLifecycleResponse{Error: s.errOf(ctx, svc.RemoveDesiredLRP(ctx, req.ProcessGuid))}
	}))

	// tasks
	s.handle("/v1/tasks/list.r3", list(s, listTasks))
	s.handle("/v1/tasks/get_by_task_guid.r3", rpc(s, func(ctx context.Context, req *models.TaskByGuidRequest) proto.Message {
		t, err := svc.Task(ctx, req.TaskGuid)
		return &models.TaskResponse{Task: t, Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/tasks/desire.r2", rpc(s, func(ctx context.Context, req *models.DesireTaskRequest) proto.Message {
		return &models.TaskLifecycleResponse{Error: s.errOf(ctx, svc.DesireTask(ctx, req.TaskGuid, req.Domain, req.TaskDefinition))}
	}))
	s.handle("/v1/tasks/start", rpc(s, func(ctx context.Context, req *models.StartTaskRequest) proto.Message {
		should, err := svc.StartTask(ctx, req.TaskGuid, req.CellId)
		return &models.StartTaskResponse{ShouldStart: should, Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/tasks/cancel", taskGuidOp(s, svc.CancelTask))
	s.handle("/v1/tasks/fail", rpc(s, func(ctx context.Context, req *models.FailTaskRequest) proto.Message {
		return &models.TaskLifecycleResponse{Error: s.errOf(ctx, svc.FailTask(ctx, req.TaskGuid, req.FailureReason))}
	}))
	s.handle("/v1/tasks/reject", rpc(s, func(ctx context.Context, req *models.RejectTaskRequest) proto.Message {
		return &models.TaskLifecycleResponse{Error: s.errOf(ctx, svc.RejectTask(ctx, req.TaskGuid, req.RejectionReason))}
	}))
	s.handle("/v1/tasks/complete", rpc(s, func(ctx context.Context, req *models.CompleteTaskRequest) proto.Message {
		err := svc.CompleteTask(ctx, req.TaskGuid, req.CellId, req.Failed, req.FailureReason, req.Result)
		return &models.TaskLifecycleResponse{Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/tasks/resolving", taskGuidOp(s, svc.ResolvingTask))
	s.handle("/v1/tasks/delete", taskGuidOp(s, svc.DeleteTask))

	// events
	s.handle("/v1/events/lrp_instances.r1", s.events(s.cfg.LRPHub, true, nil))
	s.handle("/v1/events/tasks.r1", s.events(s.cfg.TaskHub, false, nil))

	// cells
	s.handle("/v1/cells/list.r1", func(w http.ResponseWriter, r *http.Request) {
		cells, err := svc.Cells(r.Context())
		writeProto(w, &models.CellsResponse{Cells: cells, Error: s.errOf(r.Context(), err)})
	})
}

// taskGuidOp serves a task lifecycle call that takes only the task guid.
func taskGuidOp(s *Server, op func(ctx context.Context, guid string) error) http.HandlerFunc {
	return rpc(s, func(ctx context.Context, req *models.TaskGuidRequest) proto.Message {
		return &models.TaskLifecycleResponse{Error: s.errOf(ctx, op(ctx, req.TaskGuid))}
	})
}

// events serves a stream, each event passed through version (nil: as
// published). Like the reference, only the LRP streams (byCell) read the
// request, for its cell_id filter, and one that does not decode gets a bare
// 500; the task stream ignores its body.
func (s *Server) events(hub *events.Hub, byCell bool, version events.Version) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req models.EventsByCellId
		if byCell {
			if e := s.decode(w, r, &req); e != nil {
				s.log.Info("event stream request rejected", "path", r.URL.Path, "err", e.Message)
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
		}
		sub := hub.Subscribe(req.CellId)
		defer sub.Close()
		if err := events.ServeSSEAs(r.Context(), w, sub, version); err != nil {
			s.log.Debug("event stream ended", "path", r.URL.Path, "err", err)
		}
	}
}

// filter conversions
func actualFilter(req *models.ActualLRPsRequest) store.ActualFilter {
	f := store.ActualFilter{Domain: req.Domain, CellID: req.CellId, ProcessGuid: req.ProcessGuid}
	if req.IndexExists() {
		i := req.GetIndex()
		f.Index = &i
	}
	return f
}
