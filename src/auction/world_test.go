package auction

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

// world is a script's cells and batch. Input lines:
//
//	cell ID [zone=z1] [mem=AVAIL/TOTAL|TOTAL] [disk=...] [containers=...]
//	     [rootfs=preloaded:linux,docker] [drivers=a,b] [tags=a,b] [optional=c]
//	     [starting=N] [index=N] [proxy=MB] [evacuating] [lrps=web/0,web/1] [tasks=N]
//	lrp GUID/INDEX [mem=MB] [disk=MB] [rootfs=URL] [tags=a,b] [drivers=a,b]
//	task GUID [mem=MB] [disk=MB] [rootfs=URL] [tags=a,b] [drivers=a,b]
//
// A cell's rootfs list names preloaded rootfses as scheme:name (a fixed set
// per scheme) and arbitrary providers by bare scheme. Defaults: zone z1,
// 1024 MB memory and disk, 10 containers, rootfs preloaded:linux, index in
// order of appearance; requests take 64 MB of each and preloaded:linux.
// Existing lrps and tasks take no resources: the available figures say
// what is free.
type world struct {
	cells []rep.CellState
	batch Batch
}

func parseWorld(lines []string) (*world, error) {
	w := &world{}
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("bad line %q", line)
		}
		var err error
		switch f[0] {
		case "cell":
			err = w.addCell(f[1], f[2:])
		case "lrp":
			err = w.addLRP(f[1], f[2:])
		case "task":
			err = w.addTask(f[1], f[2:])
		default:
			err = fmt.Errorf("unknown line %q", line)
		}
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
	}
	return w, nil
}

func (w *world) addCell(id string, args []string) error {
	c := rep.CellState{CellID: id, CellIndex: len(w.cells), Zone: "z1",
		AvailableResources: rep.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10},
		TotalResources:     rep.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10},
		RootFSProviders:    providers("preloaded:linux")}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "zone":
			c.Zone = v
		case "mem", "disk", "containers":
			err = setResource(&c, k, v)
		case "rootfs":
			c.RootFSProviders = providers(v)
		case "drivers":
			c.VolumeDrivers = list(v)
		case "tags":
			c.PlacementTags = list(v)
		case "optional":
			c.OptionalPlacementTags = list(v)
		case "starting":
			c.StartingContainerCount, err = strconv.Atoi(v)
		case "index":
			c.CellIndex, err = strconv.Atoi(v)
		case "proxy":
			c.ProxyMemoryAllocationMB, err = strconv.Atoi(v)
		case "evacuating":
			c.Evacuating = true
		case "lrps", "tasks":
			err = addWork(&c, k, v)
		default:
			err = fmt.Errorf("unknown cell field %q", k)
		}
		if err != nil {
			return err
		}
	}
	w.cells = append(w.cells, c)
	return nil
}

// setResource parses mem=, disk= or containers= (AVAIL/TOTAL or TOTAL).
func setResource(c *rep.CellState, k, v string) error {
	avail, total, err := availTotal(v)
	switch k {
	case "mem":
		c.AvailableResources.MemoryMB, c.TotalResources.MemoryMB = int32(avail), int32(total)
	case "disk":
		c.AvailableResources.DiskMB, c.TotalResources.DiskMB = int32(avail), int32(total)
	default:
		c.AvailableResources.Containers, c.TotalResources.Containers = avail, total
	}
	return err
}

// addWork parses lrps=GUID/INDEX,... or tasks=N: work already on the cell.
func addWork(c *rep.CellState, k, v string) error {
	if k == "tasks" {
		n, err := strconv.Atoi(v)
		for i := range n {
			c.Tasks = append(c.Tasks, rep.NewTask(fmt.Sprintf("%s-task-%d", c.CellID, i), "d", rep.Resource{}, rep.PlacementConstraint{}))
		}
		return err
	}
	for _, l := range list(v) {
		g, i, _ := strings.Cut(l, "/")
		idx, err := strconv.Atoi(i)
		if err != nil {
			return err
		}
		c.LRPs = append(c.LRPs, rep.NewLRP("", models.NewActualLRPKey(g, int32(idx), "d"), rep.Resource{}, rep.PlacementConstraint{}))
	}
	return nil
}

func (w *world) addLRP(name string, args []string) error {
	g, i, ok := strings.Cut(name, "/")
	idx, err := strconv.Atoi(i)
	if !ok || err != nil {
		return fmt.Errorf("lrp %q is not GUID/INDEX", name)
	}
	res, pc, err := parseRequest(args)
	w.batch.LRPs = append(w.batch.LRPs, LRP{ProcessGuid: g, Domain: "d", Index: int32(idx), Resource: res, Constraint: pc})
	return err
}

func (w *world) addTask(guid string, args []string) error {
	res, pc, err := parseRequest(args)
	w.batch.Tasks = append(w.batch.Tasks, Task{TaskGuid: guid, Domain: "d", Resource: res, Constraint: pc})
	return err
}

func parseRequest(args []string) (rep.Resource, rep.PlacementConstraint, error) {
	res := rep.Resource{MemoryMB: 64, DiskMB: 64}
	pc := rep.PlacementConstraint{RootFs: "preloaded:linux"}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		var n int
		var err error
		switch k {
		case "mem":
			n, err = strconv.Atoi(v)
			res.MemoryMB = int32(n)
		case "disk":
			n, err = strconv.Atoi(v)
			res.DiskMB = int32(n)
		case "rootfs":
			pc.RootFs = v
		case "tags":
			pc.PlacementTags = list(v)
		case "drivers":
			pc.VolumeDrivers = list(v)
		default:
			err = fmt.Errorf("unknown request field %q", k)
		}
		if err != nil {
			return res, pc, err
		}
	}
	return res, pc, nil
}

func availTotal(v string) (avail, total int, err error) {
	a, t, ok := strings.Cut(v, "/")
	if avail, err = strconv.Atoi(a); err != nil || !ok {
		return avail, avail, err
	}
	total, err = strconv.Atoi(t)
	return avail, total, err
}

func providers(v string) rep.RootFSProviders {
	p := rep.RootFSProviders{}
	sets := map[string][]string{}
	for _, item := range list(v) {
		if scheme, name, ok := strings.Cut(item, ":"); ok {
			sets[scheme] = append(sets[scheme], name)
		} else {
			p[item] = rep.ArbitraryRootFSProvider{}
		}
	}
	for scheme, names := range sets {
		p[scheme] = rep.NewFixedSetRootFSProvider(names...)
	}
	return p
}

func list(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func parseConfig(args []string) (Config, map[string]bool, error) {
	cfg, show := DefaultConfig(), map[string]bool{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "seed":
			cfg.Seed, err = strconv.ParseUint(v, 10, 64)
		case "weight":
			cfg.StartingContainerWeight, err = strconv.ParseFloat(v, 64)
		case "firstfit":
			cfg.BinPackFirstFitWeight, err = strconv.ParseFloat(v, 64)
		case "max":
			cfg.StartingContainerCountMaximum, err = strconv.Atoi(v)
		case "zones", "left":
			show[k] = true
		default:
			err = fmt.Errorf("unknown schedule option %q", k)
		}
		if err != nil {
			return cfg, nil, err
		}
	}
	return cfg, show, nil
}

// renderZones prints, for each process in the batch, its instances per
// zone on live cells after the round.
func (w *world) renderZones(res Result) []string {
	counts := map[string]map[string]int{}
	var zones []string
	for _, c := range w.cells {
		if c.Evacuating {
			continue
		}
		zones = append(zones, c.Zone)
		for _, l := range c.LRPs {
			add(counts, l.ProcessGuid, c.Zone)
		}
		for _, l := range res.LRPs[c.CellID] {
			add(counts, l.ProcessGuid, c.Zone)
		}
	}
	slices.Sort(zones)
	zones = slices.Compact(zones)
	var procs []string
	for _, l := range w.batch.LRPs {
		procs = append(procs, l.ProcessGuid)
	}
	slices.Sort(procs)
	var out []string
	for _, p := range slices.Compact(procs) {
		line := "zones " + p + ":"
		for _, z := range zones {
			line += fmt.Sprintf(" %s=%d", z, counts[p][z])
		}
		out = append(out, line)
	}
	return out
}

func add(counts map[string]map[string]int, proc, zone string) {
	if counts[proc] == nil {
		counts[proc] = map[string]int{}
	}
	counts[proc][zone]++
}

// renderLeft prints each cell's free resources and starting containers.
func (w *world) renderLeft() []string {
	var out []string
	for _, c := range w.cells {
		a := c.AvailableResources
		out = append(out, fmt.Sprintf("left %s: mem=%d disk=%d containers=%d starting=%d",
			c.CellID, a.MemoryMB, a.DiskMB, a.Containers, c.StartingContainerCount))
	}
	return out
}
