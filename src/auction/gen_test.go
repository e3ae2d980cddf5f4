package auction

import (
	"fmt"
	"math/rand/v2"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

// scenario is one random round: cells, a batch and a config.
type scenario struct {
	cells []rep.CellState
	batch Batch
	cfg   Config
}

// genOpts shape random scenarios.
type genOpts struct {
	maxCells, maxLRPs, maxTasks int
	ample                       bool // every cell compatible with every request, and room for all
}

var rootfsChoices = []rep.RootFSProviders{
	{"preloaded": rep.NewFixedSetRootFSProvider("linux")},
	{"preloaded": rep.NewFixedSetRootFSProvider("linux", "windows"), "preloaded+layer": rep.NewFixedSetRootFSProvider("linux")},
	{"preloaded": rep.NewFixedSetRootFSProvider("linux"), "docker": rep.ArbitraryRootFSProvider{}},
}

var sizeChoices = []rep.Resources{{MemoryMB: 1024, DiskMB: 2048, Containers: 10}, {MemoryMB: 2048, DiskMB: 4096, Containers: 20}, {MemoryMB: 4096, DiskMB: 4096, Containers: 8}}

func genScenario(r *rand.Rand, o genOpts) scenario {
	var s scenario
	nCells := r.IntN(o.maxCells + 1)
	zones := []string{"z1", "z2", "z3", "z4", ""}[:1+r.IntN(4)]
	identical := r.IntN(3) == 0
	jitter := r.IntN(3) == 0 // totals a little different, as VMs of one type may report
	var proto rep.CellState
	for i := range nCells {
		if !identical || i == 0 {
			proto = genCell(r, zones, o.ample)
		}
		c := proto
		c.CellID = fmt.Sprintf("cell-%02d", i)
		c.CellIndex = i
		if identical {
			c.Zone = zones[i%len(zones)]
		} else if r.IntN(2) == 0 {
			c.CellIndex = r.IntN(nCells)
		}
		if !identical {
			c.LRPs, c.Tasks = genExisting(r)
		}
		if jitter {
			dm, dd := int32(r.IntN(40)), int32(r.IntN(40))
			c.TotalResources.MemoryMB += dm
			c.TotalResources.DiskMB += dd
			c.AvailableResources.MemoryMB += dm * int32(r.IntN(2))
			c.AvailableResources.DiskMB += dd * int32(r.IntN(2))
		}
		s.cells = append(s.cells, c)
	}
	s.batch = genBatch(r, o)
	s.cfg = genConfig(r, o.ample)
	return s
}

func genCell(r *rand.Rand, zones []string, ample bool) rep.CellState {
	total := sizeChoices[r.IntN(len(sizeChoices))]
	if r.IntN(5) == 0 {
		total = rep.Resources{MemoryMB: int32(256 + r.IntN(4096)), DiskMB: int32(r.IntN(4096)), Containers: r.IntN(12)}
	}
	avail := total
	if !ample && r.IntN(2) == 0 {
		avail = rep.Resources{MemoryMB: int32(r.IntN(int(total.MemoryMB) + 1)), DiskMB: int32(r.IntN(int(total.DiskMB) + 1)), Containers: r.IntN(total.Containers + 1)}
	}
	c := rep.CellState{
		Zone:                   zones[r.IntN(len(zones))],
		RootFSProviders:        rootfsChoices[r.IntN(len(rootfsChoices))],
		TotalResources:         total,
		AvailableResources:     avail,
		StartingContainerCount: r.IntN(4),
	}
	if ample {
		c.RootFSProviders = rootfsChoices[2]
		c.TotalResources = rep.Resources{MemoryMB: 1 << 20, DiskMB: 1 << 20, Containers: 1000}
		c.AvailableResources = c.TotalResources
		return c
	}
	c.VolumeDrivers = pick(r, []string{"nfs", "smb", "nfs"})
	if tags := pick(r, []string{"a", "b"}); len(tags) > 0 && r.IntN(5) == 0 {
		c.PlacementTags = tags[:1]
	}
	c.OptionalPlacementTags = pick(r, []string{"c", "d"})
	c.Evacuating = r.IntN(10) == 0
	if r.IntN(3) == 0 {
		c.ProxyMemoryAllocationMB = 32
	}
	return c
}

func genExisting(r *rand.Rand) ([]rep.LRP, []rep.Task) {
	var lrps []rep.LRP
	for range r.IntN(6) {
		g := fmt.Sprintf("p%d", r.IntN(10))
		lrps = append(lrps, rep.NewLRP("", models.NewActualLRPKey(g, int32(r.IntN(5)), "d"), rep.Resource{}, rep.PlacementConstraint{}))
	}
	var tasks []rep.Task
	for i := range r.IntN(4) {
		tasks = append(tasks, rep.NewTask(fmt.Sprintf("old-%d", i), "d", rep.Resource{}, rep.PlacementConstraint{}))
	}
	return lrps, tasks
}

func genBatch(r *rand.Rand, o genOpts) Batch {
	var b Batch
	for range r.IntN(o.maxLRPs + 1) {
		if len(b.LRPs) > 0 && r.IntN(8) == 0 {
			d := b.LRPs[r.IntN(len(b.LRPs))]
			d.Resource.MemoryMB++ // a duplicate that differs: the first must win
			b.LRPs = append(b.LRPs, d)
			continue
		}
		l := LRP{ProcessGuid: fmt.Sprintf("p%d", r.IntN(15)), Domain: "d", Index: int32(r.IntN(5)),
			Resource: genResource(r), Constraint: genConstraint(r, o.ample)}
		b.LRPs = append(b.LRPs, l)
	}
	for range r.IntN(o.maxTasks + 1) {
		if len(b.Tasks) > 0 && r.IntN(8) == 0 {
			b.Tasks = append(b.Tasks, b.Tasks[r.IntN(len(b.Tasks))])
			continue
		}
		b.Tasks = append(b.Tasks, Task{TaskGuid: fmt.Sprintf("t%d", r.IntN(40)), Domain: "d",
			Resource: genResource(r), Constraint: genConstraint(r, o.ample)})
	}
	return b
}

func genResource(r *rand.Rand) rep.Resource {
	sizes := []int32{0, 64, 128, 256, 512, 1024}
	return rep.Resource{MemoryMB: sizes[r.IntN(len(sizes))], DiskMB: sizes[r.IntN(len(sizes))]}
}

func genConstraint(r *rand.Rand, ample bool) rep.PlacementConstraint {
	if ample {
		return rep.PlacementConstraint{RootFs: "preloaded:linux"}
	}
	pc := rep.PlacementConstraint{RootFs: "preloaded:linux"}
	if r.IntN(5) == 0 {
		rootfs := []string{"docker:///busybox", "preloaded:windows", "preloaded+layer:linux?x=1", "bogus:x", "%zz"}
		pc.RootFs = rootfs[r.IntN(len(rootfs))]
	}
	if r.IntN(6) == 0 {
		pc.VolumeDrivers = pick(r, []string{"nfs", "smb", "ceph"})
	}
	if r.IntN(6) == 0 {
		pc.PlacementTags = pick(r, []string{"a", "b", "c", "d", "e"})
	}
	return pc
}

func genConfig(r *rand.Rand, ample bool) Config {
	cfg := Config{Seed: r.Uint64()}
	cfg.StartingContainerWeight = []float64{0, 0.25, 0.25, r.Float64() * 2, 10, 700}[r.IntN(6)]
	cfg.BinPackFirstFitWeight = []float64{0, 0, 0.01, r.Float64()}[r.IntN(4)]
	if !ample && r.IntN(5) == 0 {
		cfg.StartingContainerCountMaximum = 1 + r.IntN(200)
	}
	return cfg
}

// pick is a random subset of from, in random order.
func pick(r *rand.Rand, from []string) []string {
	var out []string
	for _, i := range r.Perm(len(from)) {
		if r.IntN(2) == 0 {
			out = append(out, from[i])
		}
	}
	return out
}
