package bbsaddr

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
)

// NewClient returns a client of the BBS at cfg.URL, which may list several
// URLs comma-separated: then each request goes to the BBS that answered
// last, and on a transport failure (a standby's closed port, a dead or
// unreachable BBS) to the next, as a reference client does over the
// addresses of a DNS name. cfg.Retries rounds over all of them are tried,
// half a second apart (the reference client's three tries by default).
func NewClient(cfg bbs.ClientConfig) (bbs.InternalClient, error) {
	urls := split(cfg.URL)
	if len(urls) <= 1 {
		return bbs.NewClientWithConfig(cfg)
	}
	f := &failover{rounds: cfg.Retries, wait: 500 * time.Millisecond}
	if f.rounds <= 0 {
		f.rounds = bbs.DefaultRetryCount
	}
	for _, u := range urls {
		one := cfg
		one.URL, one.Retries = u, 1
		c, err := bbs.NewClientWithConfig(one)
		if err != nil {
			return nil, fmt.Errorf("bbs client for %s: %w", u, err)
		}
		f.clients = append(f.clients, c)
	}
	return f, nil
}

// failover is a BBS client over several BBS servers, of which one (the
// lock holder) serves.
type failover struct {
	clients []bbs.InternalClient
	cur     atomic.Int32
	rounds  int
	wait    time.Duration
}

var _ bbs.InternalClient = (*failover)(nil)

// tryNext says whether err means the BBS asked did not answer (so another
// may): a transport error, a timeout or an answer that is not the BBS's.
func tryNext(err error) bool {
	var me *models.Error
	if !errors.As(err, &me) {
		return true
	}
	switch me.Type {
	case models.Error_Timeout, models.Error_InvalidResponse, models.Error_RouterError:
		return true
	}
	return false
}

// do runs fn against the BBS that answered last, then the others in turn.
func do[T any](f *failover, fn func(bbs.InternalClient) (T, error)) (T, error) {
	var v T
	var err error
	for round := 0; round < f.rounds; round++ {
		if round > 0 {
			time.Sleep(f.wait)
		}
		start := int(f.cur.Load())
		for i := range f.clients {
			n := (start + i) % len(f.clients)
			if v, err = fn(f.clients[n]); err == nil || !tryNext(err) {
				f.cur.Store(int32(n))
				return v, err
			}
		}
	}
	return v, err
}

func (f *failover) do0(fn func(bbs.InternalClient) error) error {
	_, err := do(f, func(c bbs.InternalClient) (struct{}, error) { return struct{}{}, fn(c) })
	return err
}

func (f *failover) ping(fn func(bbs.InternalClient) bool) bool {
	start := int(f.cur.Load())
	for i := range f.clients {
		n := (start + i) % len(f.clients)
		if fn(f.clients[n]) {
			f.cur.Store(int32(n))
			return true
		}
	}
	return false
}

func (f *failover) ClaimActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	return f.do0(func(c bbs.InternalClient) error { return c.ClaimActualLRP(logger, traceID, key, instanceKey) })
}

func (f *failover) StartActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, netInfo *models.ActualLRPNetInfo, internalRoutes []*models.ActualLRPInternalRoute, metricTags map[string]string, routable bool, availabilityZone string) error {
	return f.do0(func(c bbs.InternalClient) error {
		return c.StartActualLRP(logger, traceID, key, instanceKey, netInfo, internalRoutes, metricTags, routable, availabilityZone)
	})
}

func (f *failover) CrashActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, errorMessage string) error {
	return f.do0(func(c bbs.InternalClient) error {
		return c.CrashActualLRP(logger, traceID, key, instanceKey, errorMessage)
	})
}

func (f *failover) FailActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey, errorMessage string) error {
	return f.do0(func(c bbs.InternalClient) error { return c.FailActualLRP(logger, traceID, key, errorMessage) })
}

func (f *failover) RemoveActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	return f.do0(func(c bbs.InternalClient) error { return c.RemoveActualLRP(logger, traceID, key, instanceKey) })
}

func (f *failover) EvacuateClaimedActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (bool, error) {
	return do(f, func(c bbs.InternalClient) (bool, error) {
		return c.EvacuateClaimedActualLRP(logger, traceID, key, instanceKey)
	})
}

func (f *failover) EvacuateRunningActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, netInfo *models.ActualLRPNetInfo, internalRoutes []*models.ActualLRPInternalRoute, metricTags map[string]string, routable bool, availabilityZone string) (bool, error) {
	return do(f, func(c bbs.InternalClient) (bool, error) {
		return c.EvacuateRunningActualLRP(logger, traceID, key, instanceKey, netInfo, internalRoutes, metricTags, routable, availabilityZone)
	})
}

func (f *failover) EvacuateStoppedActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (bool, error) {
	return do(f, func(c bbs.InternalClient) (bool, error) {
		return c.EvacuateStoppedActualLRP(logger, traceID, key, instanceKey)
	})
}

func (f *failover) EvacuateCrashedActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, errorMessage string) (bool, error) {
	return do(f, func(c bbs.InternalClient) (bool, error) {
		return c.EvacuateCrashedActualLRP(logger, traceID, key, instanceKey, errorMessage)
	})
}

func (f *failover) RemoveEvacuatingActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	return f.do0(func(c bbs.InternalClient) error {
		return c.RemoveEvacuatingActualLRP(logger, traceID, key, instanceKey)
	})
}

func (f *failover) StartTask(logger lager.Logger, traceID string, taskGuid string, cellID string) (bool, error) {
	return do(f, func(c bbs.InternalClient) (bool, error) { return c.StartTask(logger, traceID, taskGuid, cellID) })
}

func (f *failover) FailTask(logger lager.Logger, traceID string, taskGuid string, failureReason string) error {
	return f.do0(func(c bbs.InternalClient) error { return c.FailTask(logger, traceID, taskGuid, failureReason) })
}

func (f *failover) RejectTask(logger lager.Logger, traceID string, taskGuid string, failureReason string) error {
	return f.do0(func(c bbs.InternalClient) error { return c.RejectTask(logger, traceID, taskGuid, failureReason) })
}

func (f *failover) CompleteTask(logger lager.Logger, traceID string, taskGuid string, cellId string, failed bool, failureReason string, result string) error {
	return f.do0(func(c bbs.InternalClient) error {
		return c.CompleteTask(logger, traceID, taskGuid, cellId, failed, failureReason, result)
	})
}

func (f *failover) Ping(logger lager.Logger, traceID string) bool {
	return f.ping(func(c bbs.InternalClient) bool { return c.Ping(logger, traceID) })
}

func (f *failover) Cells(logger lager.Logger, traceID string) ([]*models.CellPresence, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.CellPresence, error) { return c.Cells(logger, traceID) })
}

func (f *failover) DesireTask(logger lager.Logger, traceID string, guid string, domain string, def *models.TaskDefinition) error {
	return f.do0(func(c bbs.InternalClient) error { return c.DesireTask(logger, traceID, guid, domain, def) })
}

func (f *failover) Tasks(logger lager.Logger, traceID string) ([]*models.Task, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.Task, error) { return c.Tasks(logger, traceID) })
}

func (f *failover) TasksWithFilter(logger lager.Logger, traceID string, filter models.TaskFilter) ([]*models.Task, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.Task, error) { return c.TasksWithFilter(logger, traceID, filter) })
}

func (f *failover) TasksByDomain(logger lager.Logger, traceID string, domain string) ([]*models.Task, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.Task, error) { return c.TasksByDomain(logger, traceID, domain) })
}

func (f *failover) TasksByCellID(logger lager.Logger, traceID string, cellId string) ([]*models.Task, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.Task, error) { return c.TasksByCellID(logger, traceID, cellId) })
}

func (f *failover) TaskByGuid(logger lager.Logger, traceID string, guid string) (*models.Task, error) {
	return do(f, func(c bbs.InternalClient) (*models.Task, error) { return c.TaskByGuid(logger, traceID, guid) })
}

func (f *failover) CancelTask(logger lager.Logger, traceID string, taskGuid string) error {
	return f.do0(func(c bbs.InternalClient) error { return c.CancelTask(logger, traceID, taskGuid) })
}

func (f *failover) ResolvingTask(logger lager.Logger, traceID string, taskGuid string) error {
	return f.do0(func(c bbs.InternalClient) error { return c.ResolvingTask(logger, traceID, taskGuid) })
}

func (f *failover) DeleteTask(logger lager.Logger, traceID string, taskGuid string) error {
	return f.do0(func(c bbs.InternalClient) error { return c.DeleteTask(logger, traceID, taskGuid) })
}

func (f *failover) Domains(logger lager.Logger, traceID string) ([]string, error) {
	return do(f, func(c bbs.InternalClient) ([]string, error) { return c.Domains(logger, traceID) })
}

func (f *failover) UpsertDomain(logger lager.Logger, traceID string, domain string, ttl time.Duration) error {
	return f.do0(func(c bbs.InternalClient) error { return c.UpsertDomain(logger, traceID, domain, ttl) })
}

func (f *failover) ActualLRPs(a0 lager.Logger, a1 string, a2 models.ActualLRPFilter) ([]*models.ActualLRP, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.ActualLRP, error) { return c.ActualLRPs(a0, a1, a2) })
}

func (f *failover) ActualLRPGroups(a0 lager.Logger, a1 string, a2 models.ActualLRPFilter) ([]*models.ActualLRPGroup, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.ActualLRPGroup, error) { return c.ActualLRPGroups(a0, a1, a2) })
}

func (f *failover) ActualLRPGroupsByProcessGuid(logger lager.Logger, traceID string, processGuid string) ([]*models.ActualLRPGroup, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.ActualLRPGroup, error) {
		return c.ActualLRPGroupsByProcessGuid(logger, traceID, processGuid)
	})
}

func (f *failover) ActualLRPGroupByProcessGuidAndIndex(logger lager.Logger, traceID string, processGuid string, index int) (*models.ActualLRPGroup, error) {
	return do(f, func(c bbs.InternalClient) (*models.ActualLRPGroup, error) {
		return c.ActualLRPGroupByProcessGuidAndIndex(logger, traceID, processGuid, index)
	})
}

func (f *failover) RetireActualLRP(logger lager.Logger, traceID string, key *models.ActualLRPKey) error {
	return f.do0(func(c bbs.InternalClient) error { return c.RetireActualLRP(logger, traceID, key) })
}

func (f *failover) DesiredLRPs(a0 lager.Logger, a1 string, a2 models.DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.DesiredLRP, error) { return c.DesiredLRPs(a0, a1, a2) })
}

func (f *failover) DesiredLRPByProcessGuid(logger lager.Logger, traceID string, processGuid string) (*models.DesiredLRP, error) {
	return do(f, func(c bbs.InternalClient) (*models.DesiredLRP, error) {
		return c.DesiredLRPByProcessGuid(logger, traceID, processGuid)
	})
}

func (f *failover) DesiredLRPSchedulingInfos(a0 lager.Logger, a1 string, a2 models.DesiredLRPFilter) ([]*models.DesiredLRPSchedulingInfo, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.DesiredLRPSchedulingInfo, error) {
		return c.DesiredLRPSchedulingInfos(a0, a1, a2)
	})
}

func (f *failover) DesiredLRPSchedulingInfoByProcessGuid(logger lager.Logger, traceID string, processGuid string) (*models.DesiredLRPSchedulingInfo, error) {
	return do(f, func(c bbs.InternalClient) (*models.DesiredLRPSchedulingInfo, error) {
		return c.DesiredLRPSchedulingInfoByProcessGuid(logger, traceID, processGuid)
	})
}

func (f *failover) DesiredLRPRoutingInfos(a0 lager.Logger, a1 string, a2 models.DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	return do(f, func(c bbs.InternalClient) ([]*models.DesiredLRP, error) { return c.DesiredLRPRoutingInfos(a0, a1, a2) })
}

func (f *failover) DesireLRP(a0 lager.Logger, a1 string, a2 *models.DesiredLRP) error {
	return f.do0(func(c bbs.InternalClient) error { return c.DesireLRP(a0, a1, a2) })
}

func (f *failover) UpdateDesiredLRP(logger lager.Logger, traceID string, processGuid string, update *models.DesiredLRPUpdate) error {
	return f.do0(func(c bbs.InternalClient) error { return c.UpdateDesiredLRP(logger, traceID, processGuid, update) })
}

func (f *failover) RemoveDesiredLRP(logger lager.Logger, traceID string, processGuid string) error {
	return f.do0(func(c bbs.InternalClient) error { return c.RemoveDesiredLRP(logger, traceID, processGuid) })
}

func (f *failover) SubscribeToEvents(logger lager.Logger) (events.EventSource, error) {
	return do(f, func(c bbs.InternalClient) (events.EventSource, error) { return c.SubscribeToEvents(logger) })
}

func (f *failover) SubscribeToInstanceEvents(logger lager.Logger) (events.EventSource, error) {
	return do(f, func(c bbs.InternalClient) (events.EventSource, error) { return c.SubscribeToInstanceEvents(logger) })
}

func (f *failover) SubscribeToTaskEvents(logger lager.Logger) (events.EventSource, error) {
	return do(f, func(c bbs.InternalClient) (events.EventSource, error) { return c.SubscribeToTaskEvents(logger) })
}

func (f *failover) SubscribeToEventsByCellID(logger lager.Logger, cellId string) (events.EventSource, error) {
	return do(f, func(c bbs.InternalClient) (events.EventSource, error) {
		return c.SubscribeToEventsByCellID(logger, cellId)
	})
}

func (f *failover) SubscribeToInstanceEventsByCellID(logger lager.Logger, cellId string) (events.EventSource, error) {
	return do(f, func(c bbs.InternalClient) (events.EventSource, error) {
		return c.SubscribeToInstanceEventsByCellID(logger, cellId)
	})
}
