package view

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

// Input is everything the views are built from, as last read.
type Input struct {
	Desired   []*models.DesiredLRP
	Actual    []*models.ActualLRP
	Tasks     []*models.Task
	Presences []*models.CellPresence
	// States are the reps' answers to GET /state by cell id; StateErrors
	// say why a present cell's rep did not answer.
	States      map[string]rep.CellState
	StateErrors map[string]string
	// Known are the cells seen before (a presence or actual LRPs): those
	// without a presence now are missing.
	Known map[string]string // cell id -> zone ("" when unknown)
	Locks []Lock
	Now   time.Time
}

// View is the aggregated state the API serves; built once per change and
// read by many requests (never modified after Build).
type View struct {
	Overview Overview
	Zones    []Zone
	Cells    []Cell // by zone, then cell id
	Apps     []App  // by domain, then process guid
	Tasks    []Task // newest first
	// Instances are each app's actual LRPs by index.
	Instances map[string][]Instance
	appIndex  map[string]int
}

// App returns the row of processGuid.
func (v *View) App(processGuid string) (App, bool) {
	i, ok := v.appIndex[processGuid]
	if !ok {
		return App{}, false
	}
	return v.Apps[i], true
}

// KnownCells returns the cells to remember: known ones plus every cell with
// a presence or an actual LRP in in.
func KnownCells(in Input) map[string]string {
	out := make(map[string]string, len(in.Known)+len(in.Presences))
	for id, z := range in.Known {
		out[id] = z
	}
	for _, p := range in.Presences {
		out[p.CellId] = p.Zone
	}
	for _, a := range in.Actual {
		if id := a.ActualLRPInstanceKey.CellId; id != "" {
			if _, ok := out[id]; !ok {
				out[id] = a.AvailabilityZone
			}
		}
	}
	return out
}

// Build aggregates in into a View.
func Build(in Input) *View {
	v := &View{Instances: map[string][]Instance{}, appIndex: map[string]int{}}
	v.buildCells(in)
	v.buildApps(in)
	v.buildTasks(in)
	v.Overview.Locks = append([]Lock{}, in.Locks...)
	v.Overview.UpdatedAt = in.Now.UTC()
	return v
}

func (v *View) buildCells(in Input) {
	perCell := map[string]int{}
	for _, a := range in.Actual {
		if id := a.ActualLRPInstanceKey.CellId; id != "" {
			perCell[id]++
		}
	}
	present := map[string]bool{}
	for _, p := range in.Presences {
		present[p.CellId] = true
		c := Cell{CellID: p.CellId, Zone: p.Zone, RepURL: p.RepUrl, Instances: perCell[p.CellId],
			PlacementTags: nonNil(p.PlacementTags), OptionalPlacementTags: nonNil(p.OptionalPlacementTags)}
		if p.RepUrl == "" {
			c.RepURL = p.RepAddress
		}
		if p.Capacity != nil {
			c.MemoryMB.Total, c.DiskMB.Total, c.Containers.Total = int64(p.Capacity.MemoryMb), int64(p.Capacity.DiskMb), int64(p.Capacity.Containers)
		}
		if s, ok := in.States[p.CellId]; ok {
			c.MemoryMB = Usage{int64(s.TotalResources.MemoryMB), int64(s.TotalResources.MemoryMB - s.AvailableResources.MemoryMB)}
			c.DiskMB = Usage{int64(s.TotalResources.DiskMB), int64(s.TotalResources.DiskMB - s.AvailableResources.DiskMB)}
			c.Containers = Usage{int64(s.TotalResources.Containers), int64(s.TotalResources.Containers - s.AvailableResources.Containers)}
			c.Evacuating = s.Evacuating
		} else {
			c.StateError = in.StateErrors[p.CellId]
		}
		v.Cells = append(v.Cells, c)
	}
	for id, zone := range KnownCells(in) {
		if !present[id] {
			v.Cells = append(v.Cells, Cell{CellID: id, Zone: zone, Missing: true, Instances: perCell[id],
				PlacementTags: []string{}, OptionalPlacementTags: []string{}})
		}
	}
	sort.Slice(v.Cells, func(i, j int) bool {
		a, b := v.Cells[i], v.Cells[j]
		if a.Zone != b.Zone {
			return a.Zone < b.Zone
		}
		return a.CellID < b.CellID
	})
	zones := map[string]*Zone{}
	for _, c := range v.Cells {
		v.Overview.Cells.Total++
		if c.Missing {
			v.Overview.Cells.Missing++
			continue
		}
		if c.Evacuating {
			v.Overview.Cells.Evacuating++
		}
		z := zones[c.Zone]
		if z == nil {
			z = &Zone{Zone: c.Zone}
			zones[c.Zone] = z
		}
		z.Cells++
		z.MemoryMB.add(c.MemoryMB)
		z.DiskMB.add(c.DiskMB)
		z.Containers.add(c.Containers)
	}
	v.Zones = []Zone{}
	for _, z := range zones {
		v.Zones = append(v.Zones, *z)
	}
	sort.Slice(v.Zones, func(i, j int) bool { return v.Zones[i].Zone < v.Zones[j].Zone })
	if v.Cells == nil {
		v.Cells = []Cell{}
	}
}

func (u *Usage) add(o Usage) { u.Total += o.Total; u.Used += o.Used }

func (v *View) buildApps(in Input) {
	v.Apps = make([]App, 0, len(in.Desired))
	for _, d := range in.Desired {
		v.Apps = append(v.Apps, App{ProcessGuid: d.ProcessGuid, Domain: d.Domain, Instances: int(d.Instances),
			Routes: Routes(d.Routes), MemoryMB: int(d.MemoryMb), DiskMB: int(d.DiskMb)})
	}
	sort.Slice(v.Apps, func(i, j int) bool {
		a, b := v.Apps[i], v.Apps[j]
		if a.Domain != b.Domain {
			return a.Domain < b.Domain
		}
		return a.ProcessGuid < b.ProcessGuid
	})
	for i, a := range v.Apps {
		v.appIndex[a.ProcessGuid] = i
		v.Overview.Instances.Desired += a.Instances
	}
	v.Overview.Apps = len(v.Apps)
	for _, a := range in.Actual {
		pg := a.ActualLRPKey.ProcessGuid
		inst := instance(a)
		v.Instances[pg] = append(v.Instances[pg], inst)
		if a.Presence == models.ActualLRP_Evacuating {
			continue // its replacement is counted
		}
		i, ok := v.appIndex[pg]
		var row *App
		if ok {
			row = &v.Apps[i]
		} else {
			row = &App{} // an orphan: counted in the overview only
		}
		ic := &v.Overview.Instances
		switch a.State {
		case models.ActualLRPStateRunning:
			row.Running++
			ic.Running++
		case models.ActualLRPStateCrashed:
			row.Crashed++
			ic.Crashed++
		case models.ActualLRPStateClaimed:
			row.Starting++
			ic.Starting++
		case models.ActualLRPStateUnclaimed:
			row.Unclaimed++
			ic.Unclaimed++
		}
	}
	for _, list := range v.Instances {
		sort.Slice(list, func(i, j int) bool {
			if list[i].Index != list[j].Index {
				return list[i].Index < list[j].Index
			}
			return !list[i].Evacuating && list[j].Evacuating
		})
	}
}

func instance(a *models.ActualLRP) Instance {
	in := Instance{Index: a.ActualLRPKey.Index, InstanceGuid: a.ActualLRPInstanceKey.InstanceGuid, State: a.State,
		CellID: a.ActualLRPInstanceKey.CellId, Address: a.ActualLRPNetInfo.Address, Ports: []Port{},
		CrashCount: a.CrashCount, CrashReason: a.CrashReason, PlacementError: a.PlacementError,
		Evacuating: a.Presence == models.ActualLRP_Evacuating}
	if a.Since != 0 {
		in.Since = time.Unix(0, a.Since).UTC()
	}
	for _, p := range a.ActualLRPNetInfo.Ports {
		if p != nil {
			in.Ports = append(in.Ports, Port{ContainerPort: p.ContainerPort, HostPort: p.HostPort})
		}
	}
	return in
}

func (v *View) buildTasks(in Input) {
	v.Tasks = make([]Task, 0, len(in.Tasks))
	for _, t := range in.Tasks {
		row := Task{TaskGuid: t.TaskGuid, Domain: t.Domain, State: taskState(t.State), CellID: t.CellId,
			Failed: t.Failed, FailureReason: t.FailureReason, Result: t.Result,
			CreatedAt: time.Unix(0, t.CreatedAt).UTC(), UpdatedAt: time.Unix(0, t.UpdatedAt).UTC()}
		v.Tasks = append(v.Tasks, row)
		tc := &v.Overview.Tasks
		switch t.State {
		case models.Task_Pending:
			tc.Pending++
		case models.Task_Running:
			tc.Running++
		case models.Task_Completed:
			tc.Completed++
		case models.Task_Resolving:
			tc.Resolving++
		}
	}
	sort.Slice(v.Tasks, func(i, j int) bool {
		if !v.Tasks[i].CreatedAt.Equal(v.Tasks[j].CreatedAt) {
			return v.Tasks[i].CreatedAt.After(v.Tasks[j].CreatedAt)
		}
		return v.Tasks[i].TaskGuid < v.Tasks[j].TaskGuid
	})
}

// taskState is a task state's name in upper case (PENDING, RUNNING, ...).
func taskState(s models.Task_State) string { return strings.ToUpper(s.String()) }

// Routes returns the cf-router hostnames of a desired LRP's routes.
func Routes(r *models.Routes) []string {
	out := []string{}
	if r == nil {
		return out
	}
	raw, ok := (*r)["cf-router"]
	if !ok || raw == nil {
		return out
	}
	var entries []struct {
		Hostnames []string `json:"hostnames"`
	}
	if json.Unmarshal(*raw, &entries) != nil {
		return out
	}
	for _, e := range entries {
		out = append(out, e.Hostnames...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// FilterApps returns the apps of domain (all when "") whose process guid or
// a route contains q (all when "").
func FilterApps(apps []App, domain, q string) []App {
	if domain == "" && q == "" {
		return apps
	}
	q = strings.ToLower(q)
	var out []App
	for _, a := range apps {
		if domain != "" && a.Domain != domain {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(a.ProcessGuid), q) && !slices.ContainsFunc(a.Routes, func(r string) bool { return strings.Contains(strings.ToLower(r), q) }) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// FilterTasks returns the tasks in state (case-insensitive) and domain
// (each: all when "").
func FilterTasks(tasks []Task, state, domain string) []Task {
	if state == "" && domain == "" {
		return tasks
	}
	var out []Task
	for _, t := range tasks {
		if (state == "" || strings.EqualFold(t.State, state)) && (domain == "" || t.Domain == domain) {
			out = append(out, t)
		}
	}
	return out
}

// FilterCells returns the cells of zone (all when "").
func FilterCells(cells []Cell, zone string) []Cell {
	if zone == "" {
		return cells
	}
	var out []Cell
	for _, c := range cells {
		if c.Zone == zone {
			out = append(out, c)
		}
	}
	return out
}
