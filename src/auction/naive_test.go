package auction

import (
	"sort"

	"code.cloudfoundry.org/rep"
)

// naiveSchedule is the straightforward scheduler the index must agree with:
// for each request it runs the filters on every cell, counts the process's
// instances per zone by walking every cell, and scores every compatible cell
// with room, as the reference does. It shares with Schedule only the
// formulas (filters, score parts, key order, tie ranks, error wording).
func naiveSchedule(states []rep.CellState, b Batch, cfg Config) Result {
	cfg = cfg.sanitized()
	res := Result{LRPs: map[string][]LRP{}, Tasks: map[string][]Task{}}
	cells := naiveCells(states, cfg.Seed)
	inflight := 0
	for _, c := range cells {
		inflight += c.state.StartingContainerCount
	}
	for _, r := range naiveOrder(b) {
		switch {
		case len(cells) == 0:
			res.fail(r, ReasonNoCells)
		case cfg.StartingContainerCountMaximum > 0 && inflight >= cfg.StartingContainerCountMaximum:
			res.deferRequest(r)
		case r.lrp != nil:
			if c, reason := naiveLRP(cells, r.lrp, cfg); c == nil {
				res.fail(r, reason)
			} else {
				res.LRPs[c.state.CellID] = append(res.LRPs[c.state.CellID], *r.lrp)
				inflight++
			}
		default:
			if c, reason := naiveTask(cells, r.task, cfg); c == nil {
				res.fail(r, reason)
			} else {
				res.Tasks[c.state.CellID] = append(res.Tasks[c.state.CellID], *r.task)
				inflight++
			}
		}
	}
	return res
}

type naiveCell struct {
	state    *rep.CellState
	res      resources
	starting int
	procs    []string // process guid of every instance, reported and placed
	tasks    int64
	rank     uint32
}

func naiveCells(states []rep.CellState, seed uint64) []*naiveCell {
	var live []*rep.CellState
	seen := map[string]bool{}
	for i := range states {
		if !states[i].Evacuating && !seen[states[i].CellID] {
			seen[states[i].CellID] = true
			live = append(live, &states[i])
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].CellID < live[j].CellID })
	ranks := tieRanks(len(live), seed)
	out := make([]*naiveCell, len(live))
	for i, s := range live {
		a, t := s.AvailableResources, s.TotalResources
		out[i] = &naiveCell{
			state: s,
			res: resources{int64(a.MemoryMB), int64(a.DiskMB), int64(a.Containers),
				int64(t.MemoryMB), int64(t.DiskMB), int64(t.Containers)},
			starting: s.StartingContainerCount,
			tasks:    int64(len(s.Tasks)),
			rank:     uint32(ranks[i]),
		}
		for _, l := range s.LRPs {
			out[i].procs = append(out[i].procs, l.ProcessGuid)
		}
	}
	return out
}

func naiveOrder(b Batch) []request {
	var lrps []*LRP
	type id struct {
		guid  string
		index int32
	}
	seenL := map[id]bool{}
	for i := range b.LRPs {
		k := id{b.LRPs[i].ProcessGuid, b.LRPs[i].Index}
		if !seenL[k] {
			seenL[k] = true
			lrps = append(lrps, &b.LRPs[i])
		}
	}
	var tasks []*Task
	seenT := map[string]bool{}
	for i := range b.Tasks {
		if !seenT[b.Tasks[i].TaskGuid] {
			seenT[b.Tasks[i].TaskGuid] = true
			tasks = append(tasks, &b.Tasks[i])
		}
	}
	sort.Slice(lrps, func(i, j int) bool {
		a, b := lrps[i], lrps[j]
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		if a.Resource.MemoryMB != b.Resource.MemoryMB {
			return a.Resource.MemoryMB > b.Resource.MemoryMB
		}
		return a.ProcessGuid < b.ProcessGuid
	})
	sort.Slice(tasks, func(i, j int) bool {
		if tasks[i].Resource.MemoryMB != tasks[j].Resource.MemoryMB {
			return tasks[i].Resource.MemoryMB > tasks[j].Resource.MemoryMB
		}
		return tasks[i].TaskGuid < tasks[j].TaskGuid
	})
	var out []request
	for _, l := range lrps {
		if l.Index <= 0 {
			out = append(out, request{lrp: l})
		}
	}
	for _, t := range tasks {
		out = append(out, request{task: t})
	}
	for _, l := range lrps {
		if l.Index > 0 {
			out = append(out, request{lrp: l})
		}
	}
	return out
}

// naiveFilter returns the compatible cells, or the placement error.
func naiveFilter(cells []*naiveCell, pc *rep.PlacementConstraint) ([]*naiveCell, string) {
	var ok []*naiveCell
	best := 0
	for _, c := range cells {
		s := stage(c.state, pc)
		best = max(best, s)
		if s == compatible {
			ok = append(ok, c)
		}
	}
	if len(ok) == 0 {
		return nil, filterReason(best, pc)
	}
	return ok, ""
}

func naiveLRP(cells []*naiveCell, l *LRP, cfg Config) (*naiveCell, string) {
	ok, reason := naiveFilter(cells, &l.Constraint)
	if ok == nil {
		return nil, reason
	}
	perZone := map[string]int{}
	for _, c := range cells {
		perZone[c.state.Zone] += c.instances(l.ProcessGuid)
	}
	var counts []int
	for _, c := range ok {
		counts = append(counts, perZone[c.state.Zone])
	}
	sort.Ints(counts)
	var winner *naiveCell
	var best key
	for _, tier := range counts {
		for _, c := range ok {
			if perZone[c.state.Zone] != tier {
				continue
			}
			mem, disk := int64(l.Resource.MemoryMB)+int64(c.state.ProxyMemoryAllocationMB), int64(l.Resource.DiskMB)
			if c.res.mem < mem || c.res.disk < disk || c.res.containers < 1 {
				continue
			}
			base := lrpBase(load(&c.res, c.starting, cfg.StartingContainerWeight), c.state.CellIndex, cfg.BinPackFirstFitWeight)
			k := key{score(base, share(mem, disk, c.res.totalMem, c.res.totalDisk), int64(c.instances(l.ProcessGuid))), base, c.rank}
			if winner == nil || k.less(best) {
				winner, best = c, k
			}
		}
		if winner != nil {
			break
		}
	}
	if winner == nil {
		return nil, naiveProblems(ok, func(c *naiveCell) int64 {
			return int64(l.Resource.MemoryMB) + int64(c.state.ProxyMemoryAllocationMB)
		}, int64(l.Resource.DiskMB))
	}
	winner.take(int64(l.Resource.MemoryMB)+int64(winner.state.ProxyMemoryAllocationMB), int64(l.Resource.DiskMB))
	winner.procs = append(winner.procs, l.ProcessGuid)
	return winner, ""
}

func naiveTask(cells []*naiveCell, t *Task, cfg Config) (*naiveCell, string) {
	ok, reason := naiveFilter(cells, &t.Constraint)
	if ok == nil {
		return nil, reason
	}
	mem, disk := int64(t.Resource.MemoryMB), int64(t.Resource.DiskMB)
	var winner *naiveCell
	var best key
	for _, c := range ok {
		if c.res.mem < mem || c.res.disk < disk || c.res.containers < 1 {
			continue
		}
		base := load(&c.res, c.starting, cfg.StartingContainerWeight)
		k := key{score(base, share(mem, disk, c.res.totalMem, c.res.totalDisk), c.tasks), base, c.rank}
		if winner == nil || k.less(best) {
			winner, best = c, k
		}
	}
	if winner == nil {
		return nil, naiveProblems(ok, func(*naiveCell) int64 { return mem }, disk)
	}
	winner.take(mem, disk)
	winner.tasks++
	return winner, ""
}

func (c *naiveCell) instances(guid string) int {
	n := 0
	for _, p := range c.procs {
		if p == guid {
			n++
		}
	}
	return n
}

func (c *naiveCell) take(mem, disk int64) {
	c.res.mem -= mem
	c.res.disk -= disk
	c.res.containers--
	c.starting++
}

// naiveProblems keeps, as the reference does, only the problems every
// compatible cell has.
func naiveProblems(ok []*naiveCell, mem func(*naiveCell) int64, disk int64) string {
	problems := map[string]bool{resMemory: true, resDisk: true, resContainers: true}
	for _, c := range ok {
		noMem, noDisk, noContainers := c.res.fits(mem(c), disk)
		problems[resMemory] = problems[resMemory] && noMem
		problems[resDisk] = problems[resDisk] && noDisk
		problems[resContainers] = problems[resContainers] && noContainers
	}
	var missing []string
	for p, on := range problems {
		if on {
			missing = append(missing, p)
		}
	}
	return insufficientReason(missing)
}
