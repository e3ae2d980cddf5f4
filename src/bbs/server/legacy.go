package server

import (
	"context"
	"net/http"

	"code.cloudfoundry.org/bbs/format"
	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/events"
	"github.com/diego-go/diego/src/bbs/store"
)

// legacyRoutes are the deprecated routes the reference still serves: actual
// LRP groups, the r2 reads (desired LRPs and tasks in the format before image
// layers) and the older event streams.
func (s *Server) legacyRoutes() {
	// actual LRP groups: each process guid and index's instance and evacuating copy
	s.handle("/v1/actual_lrp_groups/list", rpc(s, func(ctx context.Context, req *models.ActualLRPGroupsRequest) proto.Message {
		groups, err := s.groups(ctx, store.ActualFilter{Domain: req.Domain, CellID: req.CellId})
		return &models.ActualLRPGroupsResponse{ActualLrpGroups: groups, Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/actual_lrp_groups/list_by_process_guid", rpc(s, func(ctx context.Context, req *models.ActualLRPGroupsByProcessGuidRequest) proto.Message {
		groups, err := s.groups(ctx, store.ActualFilter{ProcessGuid: req.ProcessGuid})
		return &models.ActualLRPGroupsResponse{ActualLrpGroups: groups, Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/actual_lrp_groups/get_by_process_guid_and_index", rpc(s, func(ctx context.Context, req *models.ActualLRPGroupByProcessGuidAndIndexRequest) proto.Message {
		index := req.Index
		groups, err := s.groups(ctx, store.ActualFilter{ProcessGuid: req.ProcessGuid, Index: &index})
		if err == nil && len(groups) == 0 {
			err = models.ErrResourceNotFound
		}
		if err != nil {
			return &models.ActualLRPGroupResponse{Error: s.errOf(ctx, err)}
		}
		return &models.ActualLRPGroupResponse{ActualLrpGroup: groups[0]}
	}))

	// r2 reads
	s.handle("/v1/desired_lrps/list.r2", list(s, listDesiredLRPsR2))
	s.handle("/v1/desired_lrps/get_by_process_guid.r2", rpc(s, func(ctx context.Context, req *models.DesiredLRPByProcessGuidRequest) proto.Message {
		d, err := s.svc.DesiredLRP(ctx, req.ProcessGuid)
		if d != nil {
			d = d.VersionDownTo(format.V2).PopulateMetricsGuid()
		}
		return &models.DesiredLRPResponse{DesiredLrp: d, Error: s.errOf(ctx, err)}
	}))
	s.handle("/v1/tasks/list.r2", list(s, listTasksR2))
	s.handle("/v1/tasks/get_by_task_guid.r2", rpc(s, func(ctx context.Context, req *models.TaskByGuidRequest) proto.Message {
		t, err := s.svc.Task(ctx, req.TaskGuid)
		if t != nil {
			t = t.VersionDownTo(format.V2)
		}
		return &models.TaskResponse{Task: t, Error: s.errOf(ctx, err)}
	}))

	// event streams: the group stream (GET), and the r0 streams sending
	// desired LRPs and tasks in the oldest format
	s.handleMethod("GET", "/v1/events.r1", s.events(s.cfg.LRPGroupHub, true, nil))
	s.handleMethod("GET", "/v1/events", s.events(s.cfg.LRPGroupHub, true, desiredAs(format.V0)))
	s.handle("/v1/events/lrp_instances", s.events(s.cfg.LRPHub, true, desiredAs(format.V0)))
	s.handle("/v1/events/tasks", s.events(s.cfg.TaskHub, false, func(e models.Event) models.Event {
		return models.VersionTaskDefinitionsTo(e, format.V0)
	}))
}

func desiredAs(v format.Version) events.Version {
	return func(e models.Event) models.Event { return models.VersionDesiredLRPsTo(e, v) }
}

// groups resolves the actual LRPs matching f into groups, as the reference
// does: per process guid and index, the highest-priority instance and the
// evacuating copy.
func (s *Server) groups(ctx context.Context, f store.ActualFilter) ([]*models.ActualLRPGroup, error) { //lint:ignore SA1019 deprecated API
	lrps, err := s.svc.Store().ActualLRPs(ctx, f)
	if err != nil {
		return nil, err
	}
	return models.ResolveActualLRPGroups(lrps), nil
}

var (
	listDesiredLRPsR2 = func(ctx context.Context, st store.Store, req *models.DesiredLRPsRequest, fn func([]byte) error) error {
		return st.EachDesiredLRP(ctx, desiredFilter(req), mapped(fn, func(d *models.DesiredLRP) proto.Message {
			d = d.VersionDownTo(format.V2).PopulateMetricsGuid()
			if len(d.CachedDependencies) == 0 {
				d.CachedDependencies = nil
			}
			return d
		}))
	}
	listTasksR2 = func(ctx context.Context, st store.Store, req *models.TasksRequest, fn func([]byte) error) error {
		return st.EachTask(ctx, store.TaskFilter{Domain: req.Domain, CellID: req.CellId}, mapped(fn, func(t *models.Task) proto.Message {
			return t.VersionDownTo(format.V2)
		}))
	}
)

// mapped decodes each stored payload as a T, maps it and hands on the
// encoding of the result.
func mapped[T any, PT interface {
	*T
	proto.Message
}](fn func([]byte) error, m func(PT) proto.Message) func([]byte) error {
	return func(pb []byte) error {
		v := PT(new(T))
		if err := proto.Unmarshal(pb, v); err != nil {
			return err
		}
		out, err := proto.Marshal(m(v))
		if err != nil {
			return err
		}
		return fn(out)
	}
}

func (s *Server) handleMethod(method, path string, h http.HandlerFunc) {
	s.paths[path] = true
	s.mux.HandleFunc(method+" "+path, h)
}
