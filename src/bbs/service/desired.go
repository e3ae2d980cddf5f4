package service

import (
	"context"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
	"github.com/diego-go/diego/src/bbs/store"
)

// DesireLRP stores a new desired LRP with one UNCLAIMED instance per index
// and asks for all of them to be placed.
func (s *Service) DesireLRP(ctx context.Context, d *models.DesiredLRP) error {
	d = d.Copy()
	d.ModificationTag = &models.ModificationTag{Epoch: newGUID()}
	var created []*models.ActualLRP
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertDesiredLRP(d); err != nil {
			return err
		}
		var err error
		created, err = s.createMissing(tx, d, nil)
		return err
	})
	if err != nil {
		return err
	}
	s.publishDesired(models.NewDesiredLRPCreatedEvent(d, ""))
	s.placeCreated(ctx, d, created)
	return nil
}

// createMissing inserts an UNCLAIMED instance for every index below
// d.Instances that has no ordinary instance yet.
func (s *Service) createMissing(tx store.Tx, d *models.DesiredLRP, have map[int32]bool) ([]*models.ActualLRP, error) {
	var created []*models.ActualLRP
	now := s.now()
	for i := int32(0); i < d.Instances; i++ {
		if have[i] {
			continue
		}
		a := lifecycle.NewUnclaimed(models.NewActualLRPKey(d.ProcessGuid, i, d.Domain), newGUID(), now)
		if err := tx.InsertActualLRP(a); err != nil {
			return nil, err
		}
		created = append(created, a)
	}
	return created, nil
}

// placeCreated announces new instances and asks for them to be placed.
func (s *Service) placeCreated(ctx context.Context, d *models.DesiredLRP, created []*models.ActualLRP) {
	indices := make([]int32, len(created))
	for i, a := range created {
		s.publishActual(nil, []lifecycle.Change{{After: a}}, false)
		indices[i] = a.Index
	}
	info := d.DesiredLRPSchedulingInfo()
	s.requestAuction(ctx, &info, indices)
}

// UpdateDesiredLRP applies an update (instances, routes, annotation, metric
// tags): new indices are created and placed, surplus ones retired.
func (s *Service) UpdateDesiredLRP(ctx context.Context, guid string, u *models.DesiredLRPUpdate) error {
	var before, after *models.DesiredLRP
	var created, retire []*models.ActualLRP
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		created, retire = nil, nil
		var err error
		if before, err = tx.DesiredLRP(guid); err != nil {
			return err
		}
		after = before.Copy()
		if u.InstancesExists() {
			after.Instances = u.GetInstances()
		}
		if u.Routes != nil {
			after.Routes = u.Routes
		}
		if u.AnnotationExists() {
			after.Annotation = u.GetAnnotation()
		}
		if u.MetricTags != nil {
			after.MetricTags = u.MetricTags
		}
		if after.ModificationTag == nil {
			after.ModificationTag = &models.ModificationTag{Epoch: newGUID()}
		}
		after.ModificationTag.Increment()
		if err := tx.UpdateDesiredLRP(after); err != nil {
			return err
		}
		if after.Instances == before.Instances {
			return nil
		}
		rows, err := tx.ActualLRPs(guid, nil)
		if err != nil {
			return err
		}
		have := map[int32]bool{}
		for _, r := range rows {
			if r.Presence == models.ActualLRP_Ordinary {
				have[r.Index] = true
				if r.Index >= after.Instances {
					retire = append(retire, r)
				}
			}
		}
		created, err = s.createMissing(tx, after, have)
		return err
	})
	if err != nil {
		return err
	}
	s.publishDesired(models.NewDesiredLRPChangedEvent(before, after, ""))
	s.placeCreated(ctx, after, created)
	for _, r := range retire {
		if err := s.retire(ctx, r); err != nil {
			s.log.Error("retiring surplus instance", "process_guid", guid, "index", r.Index, "err", err)
		}
	}
	return nil
}

// RemoveDesiredLRP deletes a desired LRP and retires all its instances.
func (s *Service) RemoveDesiredLRP(ctx context.Context, guid string) error {
	var removed *models.DesiredLRP
	var rows []*models.ActualLRP
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if removed, err = tx.DesiredLRP(guid); err != nil {
			return err
		}
		if err := tx.DeleteDesiredLRP(guid); err != nil {
			return err
		}
		rows, err = tx.ActualLRPs(guid, nil)
		return err
	})
	if err != nil {
		return err
	}
	s.publishDesired(models.NewDesiredLRPRemovedEvent(removed, ""))
	for _, r := range rows {
		if r.Presence != models.ActualLRP_Ordinary {
			continue // evacuating and suspect copies go when their cells report
		}
		if err := s.retire(ctx, r); err != nil {
			s.log.Error("retiring instance of removed LRP", "process_guid", guid, "index", r.Index, "err", err)
		}
	}
	return nil
}

// DesiredLRP returns one desired LRP.
func (s *Service) DesiredLRP(ctx context.Context, guid string) (*models.DesiredLRP, error) {
	return s.cfg.Store.DesiredLRP(ctx, guid)
}

// SchedulingInfo returns one desired LRP's scheduling info.
func (s *Service) SchedulingInfo(ctx context.Context, guid string) (*models.DesiredLRPSchedulingInfo, error) {
	return s.cfg.Store.SchedulingInfo(ctx, guid)
}
