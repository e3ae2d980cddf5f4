package service

import (
	"sort"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
)

// instanceEvents are the instance events of changes, as the reference's
// event calculator tells them: an instance that loses its cell (back to
// UNCLAIMED) is a new instance (created, and the old one removed), a crash
// comes first, and events that leave a running instance come before the
// others.
func instanceEvents(changes []lifecycle.Change, crashed bool) []models.Event {
	var evs []models.Event
	for _, c := range changes {
		before, after := c.Before, c.After
		switch {
		case before.Equal(after):
		case after == nil:
			evs = append(evs, models.NewActualLRPInstanceRemovedEvent(before, ""))
		case before == nil:
			evs = append(evs, models.NewActualLRPInstanceCreatedEvent(after, ""))
		case after.State == models.ActualLRPStateCrashed:
			evs = append(evs, models.NewActualLRPCrashedEvent(before, after), models.NewActualLRPInstanceChangedEvent(before, after, ""))
		case after.State == models.ActualLRPStateUnclaimed && before.State != models.ActualLRPStateUnclaimed:
			if crashed {
				evs = append(evs, models.NewActualLRPCrashedEvent(before, after))
			}
			evs = append(evs, models.NewActualLRPInstanceCreatedEvent(after, ""), models.NewActualLRPInstanceRemovedEvent(before, ""))
		default:
			evs = append(evs, models.NewActualLRPInstanceChangedEvent(before, after, ""))
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return eventRank(evs[i]) > eventRank(evs[j]) })
	return evs
}

// The deprecated ActualLRPGroup events (the reference's /v1/events streams):
// a group is the instance of one (process guid, index) that the reference
// resolves from its rows, plus its evacuating copy. Each change of a slot is
// told as created, removed or changed, as the reference's event calculator
// tells it, and events that leave a running instance go first so that
// routers never lose an instance they could keep.

// publishDesired sends a desired LRP event to both LRP streams.
func (s *Service) publishDesired(e models.Event) {
	s.cfg.LRPEvents.Publish(e)
	if s.groupsWanted() {
		s.cfg.LRPGroupEvents.Publish(e)
	}
}

// groupsWanted reports whether anyone listens for group events: they are
// computed only then.
func (s *Service) groupsWanted() bool {
	g := s.cfg.LRPGroupEvents
	if g == nil {
		return false
	}
	if c, ok := g.(interface{ SubscriberCount() int }); ok {
		return c.SubscriberCount() > 0
	}
	return true
}

// publishGroups sends the group events of changes applied to rows (all of
// one process guid and index).
func (s *Service) publishGroups(rows []*models.ActualLRP, changes []lifecycle.Change, crashed bool) {
	if len(changes) == 0 || !s.groupsWanted() {
		return
	}
	for _, e := range groupEvents(rows, changes, crashed) {
		s.cfg.LRPGroupEvents.Publish(e)
	}
}

// groupEvents are the group events of changes applied to before.
func groupEvents(before []*models.ActualLRP, changes []lifecycle.Change, crashed bool) []models.Event {
	after := applyChanges(before, changes)
	var b, a models.ActualLRPGroup //lint:ignore SA1019 the deprecated group API is still served.
	if len(before) > 0 {
		b = *models.ResolveActualLRPGroup(before)
	}
	if len(after) > 0 {
		a = *models.ResolveActualLRPGroup(after)
	}
	var evs []models.Event
	if crashed {
		evs = append(crashSlotEvents(b.Instance, a.Instance, &b, &a), crashSlotEvents(b.Evacuating, a.Evacuating, &b, &a)...)
	} else {
		evs = append(slotEvents(b.Instance, a.Instance), slotEvents(b.Evacuating, a.Evacuating)...)
	}
	sort.SliceStable(evs, func(i, j int) bool { return eventRank(evs[i]) > eventRank(evs[j]) })
	return evs
}

// applyChanges is rows after changes: a change replaces the row of its
// before state (same presence and instance), or adds its after state.
func applyChanges(rows []*models.ActualLRP, changes []lifecycle.Change) []*models.ActualLRP {
	out := append([]*models.ActualLRP(nil), rows...)
	for _, c := range changes {
		if c.Before == nil {
			out = append(out, c.After)
			continue
		}
		for i, r := range out {
			if r != nil && r.Presence == c.Before.Presence && r.InstanceGuid == c.Before.InstanceGuid {
				out[i] = c.After
				break
			}
		}
	}
	kept := out[:0]
	for _, r := range out {
		if r != nil {
			kept = append(kept, r)
		}
	}
	return kept
}

// appeared tells a slot that did not change, or that was filled or
// emptied; ok is false when it holds an instance before and after.
func appeared(before, after *models.ActualLRP) (evs []models.Event, ok bool) {
	switch {
	case before.Equal(after):
		return nil, true
	case after == nil:
		return []models.Event{models.NewActualLRPRemovedEvent(before.ToActualLRPGroup())}, true
	case before == nil:
		return []models.Event{models.NewActualLRPCreatedEvent(after.ToActualLRPGroup())}, true
	}
	return nil, false
}

// slotEvents tells how one slot of a group changed.
func slotEvents(before, after *models.ActualLRP) []models.Event {
	if evs, ok := appeared(before, after); ok {
		return evs
	}
	changed := models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup())
	switch after.State {
	case models.ActualLRPStateUnclaimed:
		return []models.Event{changed}
	case models.ActualLRPStateClaimed, models.ActualLRPStateRunning:
		if !before.ActualLRPInstanceKey.Empty() && !after.ActualLRPInstanceKey.Equal(before.ActualLRPInstanceKey) {
			// another instance took the slot (an ordinary one replacing a suspect)
			return []models.Event{models.NewActualLRPCreatedEvent(after.ToActualLRPGroup()),
				models.NewActualLRPRemovedEvent(before.ToActualLRPGroup())}
		}
		return []models.Event{changed}
	case models.ActualLRPStateCrashed:
		return []models.Event{models.NewActualLRPCrashedEvent(before, after), changed}
	}
	return nil
}

// crashSlotEvents tells a slot's change after a crash: a crash event and the
// whole groups' change, whatever the instance became.
func crashSlotEvents(before, after *models.ActualLRP, bg, ag *models.ActualLRPGroup) []models.Event { //lint:ignore SA1019 deprecated API
	if evs, ok := appeared(before, after); ok {
		return evs
	}
	return []models.Event{models.NewActualLRPCrashedEvent(before, after), models.NewActualLRPChangedEvent(bg, ag)}
}

// eventRank orders a change's events: crashes first, then those leaving a
// running instance, then the rest.
func eventRank(e models.Event) int {
	var lrp *models.ActualLRP
	switch e := e.(type) {
	case *models.ActualLRPCrashedEvent:
		return 2
	case *models.ActualLRPInstanceCreatedEvent:
		lrp = e.ActualLrp
	case *models.ActualLRPInstanceChangedEvent:
		if e.After != nil && e.After.State == models.ActualLRPStateRunning {
			return 1
		}
	case *models.ActualLRPCreatedEvent: //lint:ignore SA1019 deprecated API
		lrp, _, _ = e.ActualLrpGroup.Resolve()
	case *models.ActualLRPChangedEvent: //lint:ignore SA1019 deprecated API
		lrp, _, _ = e.After.Resolve()
	}
	if lrp != nil && lrp.State == models.ActualLRPStateRunning {
		return 1
	}
	return 0
}
