package auction

// query is one request's search for the least-key cell with room across the
// groups it may go to. The per-group fields are set before each group's tree
// is searched; the best so far carries over, so it prunes later groups.
type query struct {
	task bool
	proc *proc // LRPs: where the process's instances are

	// Per group.
	mem, disk int64   // what a cell must have free, proxy memory included
	cells     []int32 // leaf -> cell

	// Result.
	found bool
	best  key
	cell  int32
}

// bound is a key no cell under n can beat. The score grows with base,
// share and locality, so it takes the least of each. For an LRP, the least
// base under n with no locality penalty. For a task, cells with as few tasks
// as the fewest under n have at least the base paired with that count;
// cells with more tasks pay at least one more penalty on at least the least
// base.
func (q *query) bound(n *node) key {
	sh := q.share(n)
	if !q.task {
		return key{score(n.lrpBase, sh, 0), n.lrpBase, n.lrpRank}
	}
	few := key{score(n.pairBase, sh, int64(n.pairTasks)), n.pairBase, n.pairRank}
	more := key{score(n.taskBase, sh, int64(n.pairTasks)+1), n.taskBase, n.taskRank}
	if more.less(few) {
		return more
	}
	return few
}

// share is the least share of the score the request has on a cell under
// n: a share falls as the total grows (rises, for a negative request). A
// group's totals are all positive or all one value, so this is exact on a
// leaf and a bound above it.
func (q *query) share(n *node) float64 {
	mem, disk := n.totalMem.hi, n.totalDisk.hi
	if q.mem < 0 {
		mem = n.totalMem.lo
	}
	if q.disk < 0 {
		disk = n.totalDisk.lo
	}
	return share(q.mem, q.disk, int64(mem), int64(disk))
}

// offer considers the cell at leaf (its node n), known to have room.
func (q *query) offer(leaf int, n *node) {
	cell, sh := q.cells[leaf], q.share(n)
	var k key
	if q.task {
		k = key{score(n.taskBase, sh, int64(n.pairTasks)), n.taskBase, n.taskRank}
	} else {
		k = key{score(n.lrpBase, sh, q.proc.count(cell)), n.lrpBase, n.lrpRank}
	}
	if !q.found || k.less(q.best) {
		q.found, q.best, q.cell = true, k, cell
	}
}
