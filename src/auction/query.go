package auction

// query is one request's search for the least-key cell with room across the
// groups it may go to. The per-group fields are set before each group's tree
// is searched; the best so far carries over, so it prunes later groups.
type query struct {
	task bool
	proc *proc // LRPs: where the process's instances are

	// Per group.
	share     float64 // the request's share of the score on this group's cells
	mem, disk int64   // what a cell must have free, proxy memory included
	cells     []int32 // leaf -> cell

	// Result.
	found bool
	best  key
	cell  int32
}

// bound is a key no cell under n can beat. For an LRP, the least base under
// n with no locality penalty. For a task, cells with as few tasks as the
// fewest under n have at least the base paired with that count; cells with
// more tasks pay at least one more penalty on at least the least base.
func (q *query) bound(n *node) key {
	if !q.task {
		return key{score(n.lrpBase, q.share, 0), n.lrpBase, n.lrpRank}
	}
	few := key{score(n.pairBase, q.share, int64(n.pairTasks)), n.pairBase, n.pairRank}
	more := key{score(n.taskBase, q.share, int64(n.pairTasks)+1), n.taskBase, n.taskRank}
	if more.less(few) {
		return more
	}
	return few
}

// offer considers the cell at leaf (its node n), known to have room.
func (q *query) offer(leaf int, n *node) {
	cell := q.cells[leaf]
	var k key
	if q.task {
		k = key{score(n.taskBase, q.share, int64(n.pairTasks)), n.taskBase, n.taskRank}
	} else {
		k = key{score(n.lrpBase, q.share, q.proc.count(cell)), n.lrpBase, n.lrpRank}
	}
	if !q.found || k.less(q.best) {
		q.found, q.best, q.cell = true, k, cell
	}
}
