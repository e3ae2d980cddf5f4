package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"
	locketmodels "code.cloudfoundry.org/locket/models"
	"code.cloudfoundry.org/rep"
)

// Table headers and rows for each model the CLI prints.
var (
	ActualLRPHeader  = []string{"PROCESS_GUID", "INDEX", "STATE", "PRESENCE", "CELL", "ADDRESS", "CRASHES", "SINCE", "DETAILS"}
	DesiredLRPHeader = []string{"PROCESS_GUID", "DOMAIN", "INSTANCES", "MEMORY_MB", "DISK_MB", "PORTS", "ROOTFS"}
	TaskHeader       = []string{"TASK_GUID", "DOMAIN", "STATE", "CELL", "FAILED", "DETAILS"}
	CellHeader       = []string{"CELL_ID", "ZONE", "REP_URL", "MEMORY_MB", "DISK_MB", "CONTAINERS"}
	CellStateHeader  = []string{"CELL_ID", "ZONE", "MEMORY_MB", "DISK_MB", "CONTAINERS", "LRPS", "TASKS", "EVACUATING"}
	DomainHeader     = []string{"DOMAIN"}
	ResourceHeader   = []string{"KEY", "OWNER", "VALUE", "TYPE"}
)

// ActualLRPRow renders an actual LRP.
func ActualLRPRow(a *models.ActualLRP) []string {
	addr := a.Address
	var ports []string
	for _, p := range a.Ports {
		ports = append(ports, fmt.Sprintf("%d->%d", p.HostPort, p.ContainerPort))
	}
	if len(ports) > 0 {
		addr += " " + strings.Join(ports, ",")
	}
	details := a.CrashReason
	if a.PlacementError != "" {
		details = "placement: " + a.PlacementError
	}
	return []string{a.ProcessGuid, strconv.Itoa(int(a.Index)), a.State, presence(a.Presence), a.CellId, addr,
		strconv.Itoa(int(a.CrashCount)), since(a.Since), details}
}

func presence(p models.ActualLRP_Presence) string { return p.String() }

func since(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339)
}

// DesiredLRPRow renders a desired LRP.
func DesiredLRPRow(d *models.DesiredLRP) []string {
	ports := make([]string, 0, len(d.Ports))
	for _, p := range d.Ports {
		ports = append(ports, strconv.Itoa(int(p)))
	}
	return []string{d.ProcessGuid, d.Domain, strconv.Itoa(int(d.Instances)), strconv.Itoa(int(d.MemoryMb)),
		strconv.Itoa(int(d.DiskMb)), strings.Join(ports, ","), d.RootFs}
}

// TaskRow renders a task.
func TaskRow(t *models.Task) []string {
	details := t.FailureReason
	if !t.Failed && t.Result != "" {
		details = "result: " + firstLine(t.Result)
	}
	return []string{t.TaskGuid, t.Domain, t.State.String(), t.CellId, strconv.FormatBool(t.Failed), details}
}

func firstLine(s string) string {
	s, _, cut := strings.Cut(s, "\n")
	if cut {
		s += " ..."
	}
	return s
}

// CellRow renders a cell presence.
func CellRow(c *models.CellPresence) []string {
	var mem, disk, containers string
	if c.Capacity != nil {
		mem, disk, containers = strconv.Itoa(int(c.Capacity.MemoryMb)), strconv.Itoa(int(c.Capacity.DiskMb)),
			strconv.Itoa(int(c.Capacity.Containers))
	}
	return []string{c.CellId, c.Zone, c.RepUrl, mem, disk, containers}
}

// CellStateRow renders a rep's state as available/total.
func CellStateRow(s rep.CellState) []string {
	frac := func(a, t int32) string { return fmt.Sprintf("%d/%d", a, t) }
	return []string{s.CellID, s.Zone,
		frac(s.AvailableResources.MemoryMB, s.TotalResources.MemoryMB),
		frac(s.AvailableResources.DiskMB, s.TotalResources.DiskMB),
		frac(int32(s.AvailableResources.Containers), int32(s.TotalResources.Containers)),
		strconv.Itoa(len(s.LRPs)), strconv.Itoa(len(s.Tasks)), strconv.FormatBool(s.Evacuating)}
}

// DomainRow renders a domain.
func DomainRow(d string) []string { return []string{d} }

// ResourceRow renders a Locket lock or presence.
func ResourceRow(r *locketmodels.Resource) []string {
	return []string{r.Key, r.Owner, r.Value, r.Type}
}

// ActualLRPGroupHeader heads the deprecated group views: the instance's
// columns (or the evacuating copy's, when there is no instance) and the cell
// of the evacuating copy.
var ActualLRPGroupHeader = append(append([]string(nil), ActualLRPHeader...), "EVACUATING_ON")

// ActualLRPGroupRow renders an actual LRP group.
func ActualLRPGroupRow(g *models.ActualLRPGroup) []string { //lint:ignore SA1019 the deprecated view cfdot prints
	lrp, evacuating := g.Instance, ""
	if g.Evacuating != nil {
		evacuating = g.Evacuating.CellId
		if lrp == nil {
			lrp = g.Evacuating
		}
	}
	if lrp == nil {
		return make([]string, len(ActualLRPGroupHeader))
	}
	return append(ActualLRPRow(lrp), evacuating)
}

// SchedulingInfoHeader heads desired LRP scheduling infos.
var SchedulingInfoHeader = []string{"PROCESS_GUID", "DOMAIN", "INSTANCES", "MEMORY_MB", "DISK_MB", "ROOTFS", "PLACEMENT_TAGS"}

// SchedulingInfoRow renders a desired LRP's scheduling info.
func SchedulingInfoRow(s *models.DesiredLRPSchedulingInfo) []string {
	return []string{s.ProcessGuid, s.Domain, strconv.Itoa(int(s.Instances)), strconv.Itoa(int(s.MemoryMb)),
		strconv.Itoa(int(s.DiskMb)), s.RootFs, strings.Join(s.PlacementTags, ",")}
}
