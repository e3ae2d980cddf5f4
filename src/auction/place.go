package auction

// placeLRP reserves a cell for l and returns it, or returns -1 and the
// placement error. Zones are tried in order of fewest instances of the
// process, zones with equal counts together; the first such tier with a
// cell with room wins, so a process spreads across zones.
func (x *index) placeLRP(l *LRP, p *proc) (int32, string) {
	cp := x.compatFor(&l.Constraint)
	if len(cp.zones) == 0 {
		return -1, filterReason(cp.stage, &l.Constraint)
	}
	mem, disk := int64(l.Resource.MemoryMB), int64(l.Resource.DiskMB)
	q := query{proc: p}
	zs := x.byInstances(cp.zones, p)
	for i := 0; i < len(zs) && !q.found; {
		tier := p.zones[zs[i].zone]
		for ; i < len(zs) && p.zones[zs[i].zone] == tier; i++ {
			x.search(&q, zs[i].groups, mem, disk, true)
		}
	}
	if !q.found {
		return -1, x.insufficient(cp, mem, disk, true)
	}
	c := &x.cells[q.cell]
	x.reserve(q.cell, mem+c.proxy, disk, false)
	p.add(q.cell, c.zone)
	return q.cell, ""
}

// placeTask reserves a cell for t and returns it, or returns -1 and the
// placement error. Tasks ignore zones.
func (x *index) placeTask(t *Task) (int32, string) {
	cp := x.compatFor(&t.Constraint)
	if len(cp.zones) == 0 {
		return -1, filterReason(cp.stage, &t.Constraint)
	}
	mem, disk := int64(t.Resource.MemoryMB), int64(t.Resource.DiskMB)
	q := query{task: true}
	for _, zg := range cp.zones {
		x.search(&q, zg.groups, mem, disk, false)
	}
	if !q.found {
		return -1, x.insufficient(cp, mem, disk, false)
	}
	x.reserve(q.cell, mem, disk, true)
	return q.cell, ""
}

// search looks for a better cell than q's best in each group.
func (x *index) search(q *query, groups []int32, mem, disk int64, proxied bool) {
	for _, gi := range groups {
		g := &x.groups[gi]
		q.mem, q.disk, q.cells = mem, disk, g.cells
		if proxied {
			q.mem += g.proxy
		}
		g.tree.search(q)
	}
}

// byInstances is zones sorted by the process's instances there, fewest
// first (ties in zone order). It reuses x.scratch.
func (x *index) byInstances(zones []zoneGroups, p *proc) []zoneGroups {
	zs := append(x.scratch[:0], zones...)
	for i := 1; i < len(zs); i++ {
		for j := i; j > 0 && p.zones[zs[j].zone] < p.zones[zs[j-1].zone]; j-- {
			zs[j], zs[j-1] = zs[j-1], zs[j]
		}
	}
	x.scratch = zs
	return zs
}

// insufficient is the error when no compatible cell has room: the resources
// that every compatible cell lacks.
func (x *index) insufficient(cp *compat, mem, disk int64, proxied bool) string {
	noMem, noDisk, noContainers := true, true, true
	for _, zg := range cp.zones {
		for _, gi := range zg.groups {
			g := &x.groups[gi]
			root, need := g.tree.root(), mem
			if proxied {
				need += g.proxy
			}
			noMem = noMem && root.maxMem < need
			noDisk = noDisk && root.maxDisk < disk
			noContainers = noContainers && root.maxContainers < 1
		}
	}
	var missing []string
	if noMem {
		missing = append(missing, resMemory)
	}
	if noDisk {
		missing = append(missing, resDisk)
	}
	if noContainers {
		missing = append(missing, resContainers)
	}
	return insufficientReason(missing)
}
