package view

import (
	"fmt"
	"sort"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

func idx(i int32) *int32 { return &i }

// FromEvent turns one BBS event (instance, desired LRP or task stream) into
// timeline items; most events are none.
func FromEvent(ev models.Event, now time.Time) []Item {
	switch e := ev.(type) {
	case *models.ActualLRPInstanceChangedEvent:
		return instanceChanged(e, now)
	case *models.ActualLRPCrashedEvent:
		return []Item{{Time: now, Kind: KindInstanceCrashed, ProcessGuid: e.ActualLRPKey.ProcessGuid, Index: idx(e.ActualLRPKey.Index),
			CellID: e.ActualLRPInstanceKey.CellId, Message: fmt.Sprintf("%s/%d crashed (%d times): %s", e.ActualLRPKey.ProcessGuid, e.ActualLRPKey.Index, e.CrashCount, e.CrashReason)}}
	case *models.ActualLRPInstanceRemovedEvent:
		a := e.ActualLrp
		if a == nil {
			return nil
		}
		if a.Presence == models.ActualLRP_Evacuating {
			return []Item{{Time: now, Kind: KindInstanceEvacuated, ProcessGuid: a.ActualLRPKey.ProcessGuid, Index: idx(a.ActualLRPKey.Index),
				CellID: a.ActualLRPInstanceKey.CellId, Message: fmt.Sprintf("%s/%d left evacuating cell %s", a.ActualLRPKey.ProcessGuid, a.ActualLRPKey.Index, a.ActualLRPInstanceKey.CellId)}}
		}
		return []Item{{Time: now, Kind: KindInstanceRemoved, ProcessGuid: a.ActualLRPKey.ProcessGuid, Index: idx(a.ActualLRPKey.Index),
			CellID: a.ActualLRPInstanceKey.CellId, Message: fmt.Sprintf("%s/%d removed", a.ActualLRPKey.ProcessGuid, a.ActualLRPKey.Index)}}
	case *models.ActualLRPInstanceCreatedEvent:
		a := e.ActualLrp
		if a != nil && a.Presence == models.ActualLRP_Evacuating {
			return []Item{{Time: now, Kind: KindInstanceEvacuated, ProcessGuid: a.ActualLRPKey.ProcessGuid, Index: idx(a.ActualLRPKey.Index),
				CellID: a.ActualLRPInstanceKey.CellId, Message: fmt.Sprintf("%s/%d is evacuating from cell %s", a.ActualLRPKey.ProcessGuid, a.ActualLRPKey.Index, a.ActualLRPInstanceKey.CellId)}}
		}
	case *models.DesiredLRPChangedEvent:
		if e.Before != nil && e.After != nil && e.Before.Instances != e.After.Instances {
			return []Item{{Time: now, Kind: KindAppScaled, ProcessGuid: e.After.ProcessGuid,
				Message: fmt.Sprintf("%s scaled from %d to %d instances", e.After.ProcessGuid, e.Before.Instances, e.After.Instances)}}
		}
	case *models.TaskChangedEvent:
		if e.Before != nil && e.After != nil && e.Before.State != models.Task_Completed && e.After.State == models.Task_Completed {
			t := e.After
			if t.Failed {
				return []Item{{Time: now, Kind: KindTaskFailed, TaskGuid: t.TaskGuid, CellID: t.CellId, Message: fmt.Sprintf("task %s failed: %s", t.TaskGuid, t.FailureReason)}}
			}
			return []Item{{Time: now, Kind: KindTaskCompleted, TaskGuid: t.TaskGuid, CellID: t.CellId, Message: fmt.Sprintf("task %s completed", t.TaskGuid)}}
		}
	}
	return nil
}

func instanceChanged(e *models.ActualLRPInstanceChangedEvent, now time.Time) []Item {
	if e.Before == nil || e.After == nil || e.Before.State == e.After.State {
		return nil
	}
	pg, i, cell := e.ActualLRPKey.ProcessGuid, e.ActualLRPKey.Index, e.ActualLRPInstanceKey.CellId
	switch e.After.State {
	case models.ActualLRPStateRunning:
		return []Item{{Time: now, Kind: KindInstanceStarted, ProcessGuid: pg, Index: idx(i), CellID: cell,
			Message: fmt.Sprintf("%s/%d is running on %s", pg, i, cell)}}
	case models.ActualLRPStateCrashed:
		return []Item{{Time: now, Kind: KindInstanceCrashed, ProcessGuid: pg, Index: idx(i), CellID: cell,
			Message: fmt.Sprintf("%s/%d crashed (%d times): %s", pg, i, e.After.CrashCount, e.After.CrashReason)}}
	}
	return nil
}

// CellChanges returns cell_lost for each cell in before but not in after and
// cell_appeared for each in after but not in before, by cell id.
func CellChanges(before, after map[string]bool, now time.Time) []Item {
	var out []Item
	for id := range before {
		if !after[id] {
			out = append(out, Item{Time: now, Kind: KindCellLost, CellID: id, Message: fmt.Sprintf("cell %s lost its presence", id)})
		}
	}
	for id := range after {
		if !before[id] {
			out = append(out, Item{Time: now, Kind: KindCellAppeared, CellID: id, Message: fmt.Sprintf("cell %s appeared", id)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CellID < out[j].CellID })
	return out
}
