package auction

import (
	"cmp"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"

	"code.cloudfoundry.org/rep"
)

// index is the round's view of the cluster. Cells are grouped by zone,
// filter signature, proxy memory and size class (totals within about 3% of
// each other, which bounds how much a request's share of the score varies
// in a group); each group keeps a tree that bounds the score from its
// cells' base scores, so a placement searches a few trees in about
// O(log cells) instead of scoring every cell.
type index struct {
	cfg        Config
	cells      []cell
	groups     []group
	zones      []string  // sorted
	zoneGroups [][]int32 // zone -> its groups
	sigs       []*rep.CellState
	procs      map[string]*proc
	simple     map[string]*compat // constraints with no drivers or tags, by rootfs
	complex    map[string]*compat // others, by constraintKey
	inflight   int                // containers starting across the cluster
	scratch    []zoneGroups
}

// cell is one live cell; res, starting and tasks include this round's
// placements.
type cell struct {
	state    *rep.CellState
	res      resources
	proxy    int64 // memory every LRP on the cell also takes
	starting int
	tasks    int32
	index    int // CellIndex, for first fit
	rank     uint32
	zone     int32
	group    int32
	leaf     int32
}

// group is a set of cells in one zone with the same filter signature and
// proxy memory and memory and disk totals of the same size class.
type group struct {
	zone  int32
	sig   int32
	proxy int64
	cells []int32 // leaf -> cell
	tree  tree
}

type groupKey struct {
	zone, sig                  int32
	proxy, memClass, diskClass int64
}

// sizeClass buckets a total: positive totals in one class differ by less
// than 1/32 of the smaller; a total of 0 or less is a class of its own.
func sizeClass(total int64) int64 {
	if total <= 0 {
		return total
	}
	l := bits.Len64(uint64(total))
	top := total << (6 - min(l, 6)) >> (max(l, 6) - 6) // the six leading bits, 1xxxxx
	return int64(l)<<6 | top
}

func newIndex(states []rep.CellState, reqs []request, cfg Config) *index {
	x := &index{cfg: cfg, simple: map[string]*compat{}, complex: map[string]*compat{}}
	live := liveCells(states)
	ranks := tieRanks(len(live), cfg.Seed)
	x.cells = make([]cell, len(live))
	for i, s := range live {
		x.cells[i] = newCell(s, uint32(ranks[i]))
		x.inflight += s.StartingContainerCount
	}
	x.buildZones()
	x.buildGroups()
	x.buildProcs(reqs)
	return x
}

// liveCells are the cells that take work, sorted by id; of cells sharing an
// id, the first given.
func liveCells(states []rep.CellState) []*rep.CellState {
	out := make([]*rep.CellState, 0, len(states))
	for i := range states {
		if !states[i].Evacuating {
			out = append(out, &states[i])
		}
	}
	slices.SortStableFunc(out, func(a, b *rep.CellState) int { return strings.Compare(a.CellID, b.CellID) })
	return slices.CompactFunc(out, func(a, b *rep.CellState) bool { return a.CellID == b.CellID })
}

// tieRanks is a seeded permutation of n cells (sorted by id): between cells
// with equal scores, the lower rank wins.
func tieRanks(n int, seed uint64) []int {
	return rand.New(rand.NewPCG(seed, 0x61756374696f6e)).Perm(n)
}

func newCell(s *rep.CellState, rank uint32) cell {
	a, t := s.AvailableResources, s.TotalResources
	return cell{
		state: s,
		res: resources{
			mem: int64(a.MemoryMB), disk: int64(a.DiskMB), containers: int64(a.Containers),
			totalMem: int64(t.MemoryMB), totalDisk: int64(t.DiskMB), totalContainers: int64(t.Containers),
		},
		proxy:    int64(s.ProxyMemoryAllocationMB),
		starting: s.StartingContainerCount,
		tasks:    int32(len(s.Tasks)),
		index:    s.CellIndex,
		rank:     rank,
	}
}

func (x *index) buildZones() {
	for i := range x.cells {
		x.zones = append(x.zones, x.cells[i].state.Zone)
	}
	slices.Sort(x.zones)
	x.zones = slices.Compact(x.zones)
	x.zoneGroups = make([][]int32, len(x.zones))
	for i := range x.cells {
		z, _ := slices.BinarySearch(x.zones, x.cells[i].state.Zone)
		x.cells[i].zone = int32(z)
	}
}

// buildGroups puts each cell in its group and builds the trees. Leaves go in
// cell-index order, which keeps first-fit bounds tight.
func (x *index) buildGroups() {
	sigs := map[string]int32{}
	groups := map[groupKey]int32{}
	byIndex := make([]int32, len(x.cells))
	for i := range byIndex {
		byIndex[i] = int32(i)
	}
	slices.SortStableFunc(byIndex, func(a, b int32) int { return cmp.Compare(x.cells[a].index, x.cells[b].index) })
	for _, ci := range byIndex {
		c := &x.cells[ci]
		sk := cellSignature(c.state)
		sig, ok := sigs[sk]
		if !ok {
			sig = int32(len(x.sigs))
			sigs[sk] = sig
			x.sigs = append(x.sigs, c.state)
		}
		gk := groupKey{c.zone, sig, c.proxy, sizeClass(c.res.totalMem), sizeClass(c.res.totalDisk)}
		g, ok := groups[gk]
		if !ok {
			g = int32(len(x.groups))
			groups[gk] = g
			x.groups = append(x.groups, group{zone: c.zone, sig: sig, proxy: c.proxy})
			x.zoneGroups[c.zone] = append(x.zoneGroups[c.zone], g)
		}
		c.group, c.leaf = g, int32(len(x.groups[g].cells))
		x.groups[g].cells = append(x.groups[g].cells, ci)
	}
	for gi := range x.groups {
		g := &x.groups[gi]
		g.tree = newTree(len(g.cells))
		for leaf, ci := range g.cells {
			g.tree.init(leaf, x.leaf(&x.cells[ci]))
		}
		g.tree.build()
	}
}

// buildProcs counts, for every process in the batch, its instances on the
// live cells, and points each LRP request at its process.
func (x *index) buildProcs(reqs []request) {
	x.procs = make(map[string]*proc, len(reqs))
	slab := make([]proc, 0, len(reqs))
	zones := make([]int32, len(reqs)*len(x.zones))
	for i := range reqs {
		l := reqs[i].lrp
		if l == nil {
			continue
		}
		p := x.procs[l.ProcessGuid]
		if p == nil {
			slab = append(slab, proc{zones: zones[:len(x.zones):len(x.zones)]})
			zones = zones[len(x.zones):]
			p = &slab[len(slab)-1]
			x.procs[l.ProcessGuid] = p
		}
		reqs[i].proc = p
	}
	for ci := range x.cells {
		c := &x.cells[ci]
		for li := range c.state.LRPs {
			if p := x.procs[c.state.LRPs[li].ProcessGuid]; p != nil {
				p.add(int32(ci), c.zone)
			}
		}
	}
}

// leaf is the tree leaf for cell c in its current state.
func (x *index) leaf(c *cell) node {
	t := load(&c.res, c.starting, x.cfg.StartingContainerWeight)
	l := lrpBase(t, c.index, x.cfg.BinPackFirstFitWeight)
	return node{
		lrpBase: l, taskBase: t, pairBase: t,
		maxMem: c.res.mem, maxDisk: c.res.disk,
		lrpRank: c.rank, taskRank: c.rank, pairRank: c.rank,
		pairTasks:     c.tasks,
		maxContainers: clamp32(c.res.containers),
		totalMem:      span{clamp32(c.res.totalMem), clamp32(c.res.totalMem)},
		totalDisk:     span{clamp32(c.res.totalDisk), clamp32(c.res.totalDisk)},
	}
}

func clamp32(v int64) int32 {
	return int32(min(max(v, math.MinInt32), math.MaxInt32))
}

// reserve records a placement needing mem (proxy included) and disk on cell ci.
func (x *index) reserve(ci int32, mem, disk int64, task bool) {
	c := &x.cells[ci]
	c.res.mem -= mem
	c.res.disk -= disk
	c.res.containers--
	c.starting++
	if task {
		c.tasks++
	}
	x.groups[c.group].tree.set(int(c.leaf), x.leaf(c))
	x.inflight++
}
