package service

import (
	"context"
	"errors"
	"fmt"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
	"github.com/diego-go/diego/src/bbs/store"
)

// instancesPerTx is how many instances one transaction creates: a desire
// of many instances commits the desired row with the first of them, then the
// rest in transactions of this size, so no transaction holds the database
// (SQLite's one writer, which Locket shares) for long.
const instancesPerTx = 1000

// checkInstances refuses more instances than the configured bound.
func (s *Service) checkInstances(n int32) error {
	if max := s.cfg.MaxInstancesPerLRP; n > max {
		return models.NewError(models.Error_InvalidRequest, fmt.Sprintf(
			"instances is %d; this BBS allows at most %d per desired LRP (max_instances_per_lrp in the BBS config)", n, max))
	}
	return nil
}

// DesireLRP stores a new desired LRP with one UNCLAIMED instance per index
// and asks for all of them to be placed. The desired row commits with the
// first instancesPerTx instances; the rest follow in transactions of their
// own. If the request ends (or the database fails) after the first commit,
// the desire stands and convergence creates the instances not yet written.
func (s *Service) DesireLRP(ctx context.Context, d *models.DesiredLRP) error {
	if err := s.checkInstances(d.Instances); err != nil {
		return err
	}
	d = d.Copy()
	d.ModificationTag = &models.ModificationTag{Epoch: newGUID()}
	first := min(d.Instances, instancesPerTx)
	var created []*models.ActualLRP
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertDesiredLRP(d); err != nil {
			return err
		}
		var err error
		created, err = s.createMissing(tx, d, 0, first, nil)
		return err
	})
	if err != nil {
		return err
	}
	s.publishDesired(models.NewDesiredLRPCreatedEvent(d, ""))
	created = append(created, s.createRest(ctx, d, first)...)
	s.placeCreated(context.WithoutCancel(ctx), d, created)
	return nil
}

// createMissing inserts an UNCLAIMED instance for every index in [lo, hi)
// that has no ordinary instance yet (have, or a row found at insert time).
func (s *Service) createMissing(tx store.Tx, d *models.DesiredLRP, lo, hi int32, have map[int32]bool) ([]*models.ActualLRP, error) {
	now := s.now()
	want := make([]*models.ActualLRP, 0, max(hi-lo, 0))
	for i := lo; i < hi; i++ {
		if !have[i] {
			want = append(want, lifecycle.NewUnclaimed(models.NewActualLRPKey(d.ProcessGuid, i, d.Domain), newGUID(), now))
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	return tx.InsertActualLRPs(want)
}

// createRest creates d's instances from index from on, instancesPerTx per
// transaction, each after checking that d is still the stored desired LRP
// (an update or removal since owns what follows). It stops, logging why,
// when ctx ends or a transaction fails: convergence creates what is left.
func (s *Service) createRest(ctx context.Context, d *models.DesiredLRP, from int32) []*models.ActualLRP {
	var created []*models.ActualLRP
	for lo := from; lo < d.Instances; lo += instancesPerTx {
		hi := min(d.Instances-lo, instancesPerTx) + lo
		var batch []*models.ActualLRP
		current := true
		err := ctx.Err()
		if err == nil {
			err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
				batch = nil
				now, err := tx.DesiredLRP(d.ProcessGuid)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if current = now != nil && now.ModificationTag.Equal(d.ModificationTag); !current {
					return nil
				}
				batch, err = s.createMissing(tx, d, lo, hi, nil)
				return err
			})
		}
		if err != nil {
			s.log.Warn("creating instances stopped; the next convergence pass creates the rest",
				"process_guid", d.ProcessGuid, "created", lo, "instances", d.Instances, "err", err)
			return created
		}
		if !current {
			return created // updated or removed meanwhile: that write decides the instances
		}
		created = append(created, batch...)
	}
	return created
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

// firstUpdated is the end of the indices an update creates in its own
// transaction: up to instancesPerTx beyond the old instances.
func firstUpdated(before, after *models.DesiredLRP) int32 {
	return int32(min(int64(after.Instances), max(int64(before.Instances), 0)+instancesPerTx))
}

// UpdateDesiredLRP applies an update (instances, routes, annotation, metric
// tags): new indices are created and placed, surplus ones retired.
func (s *Service) UpdateDesiredLRP(ctx context.Context, guid string, u *models.DesiredLRPUpdate) error {
	if u.InstancesExists() {
		if err := s.checkInstances(u.GetInstances()); err != nil {
			return err
		}
	}
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
		created, err = s.createMissing(tx, after, 0, firstUpdated(before, after), have)
		return err
	})
	if err != nil {
		return err
	}
	s.publishDesired(models.NewDesiredLRPChangedEvent(before, after, ""))
	if first := firstUpdated(before, after); first < after.Instances {
		created = append(created, s.createRest(ctx, after, first)...)
	}
	s.placeCreated(context.WithoutCancel(ctx), after, created)
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
