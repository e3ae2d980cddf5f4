package auction

// proc is where one process's instances are: those the cells reported plus
// this round's placements. Most processes have a few instances, kept in a
// short list; a process on many cells switches to a map.
type proc struct {
	zones  []int32 // instances per zone
	cells  []cellCount
	byCell map[int32]int32 // replaces cells once it grows past procListMax
}

type cellCount struct{ cell, n int32 }

const procListMax = 16

// count is the number of the process's instances on cell c.
func (p *proc) count(c int32) int64 {
	if p.byCell != nil {
		return int64(p.byCell[c])
	}
	for _, e := range p.cells {
		if e.cell == c {
			return int64(e.n)
		}
	}
	return 0
}

// add records one more instance on cell c in zone z.
func (p *proc) add(c, z int32) {
	p.zones[z]++
	if p.byCell != nil {
		p.byCell[c]++
		return
	}
	for i := range p.cells {
		if p.cells[i].cell == c {
			p.cells[i].n++
			return
		}
	}
	if len(p.cells) < procListMax {
		p.cells = append(p.cells, cellCount{c, 1})
		return
	}
	p.byCell = make(map[int32]int32, 2*procListMax)
	for _, e := range p.cells {
		p.byCell[e.cell] = e.n
	}
	p.byCell[c] = 1
	p.cells = nil
}
