package auction

import "math"

// tree is a tournament tree over one group's cells: each leaf holds a cell's
// base scores and free resources, each inner node a summary of its subtree
// from which a lower bound on the key of any cell below can be computed for
// any request. search is branch and bound: it walks down the most promising
// child first and skips subtrees that cannot hold a cell with room or with a
// key below the best found. Updating a leaf after a placement costs
// O(log cells).
type tree struct {
	size  int    // leaves, a power of two; leaf i is node size+i
	nodes []node // 1-based heap layout
}

// node summarises a subtree. The three (base, rank) pairs are the least in
// the subtree in lexicographic order; the max* fields are the most free of
// each resource on any one cell; the spans bound the cells' totals, which
// fix a request's share of the score.
type node struct {
	lrpBase, taskBase, pairBase float64
	maxMem, maxDisk             int64
	lrpRank, taskRank, pairRank uint32
	pairTasks                   int32 // with pairBase, pairRank: least (tasks, base, rank)
	maxContainers               int32
	totalMem, totalDisk         span
}

// span is the least and greatest of a total under a node.
type span struct{ lo, hi int32 }

func (a span) union(b span) span { return span{min(a.lo, b.lo), max(a.hi, b.hi)} }

// empty pads the tree; no request fits it and every real node beats it.
var empty = node{
	lrpBase: math.Inf(1), taskBase: math.Inf(1), pairBase: math.Inf(1),
	maxMem: math.MinInt64, maxDisk: math.MinInt64,
	lrpRank: math.MaxUint32, taskRank: math.MaxUint32, pairRank: math.MaxUint32,
	pairTasks: math.MaxInt32, maxContainers: math.MinInt32,
	totalMem: span{math.MaxInt32, math.MinInt32}, totalDisk: span{math.MaxInt32, math.MinInt32},
}

func newTree(leaves int) tree {
	size := 1
	for size < leaves {
		size *= 2
	}
	t := tree{size: size, nodes: make([]node, 2*size)}
	for i := range t.nodes {
		t.nodes[i] = empty
	}
	return t
}

// init sets leaf i without updating its ancestors; call build after.
func (t *tree) init(i int, n node) { t.nodes[t.size+i] = n }

// build computes every inner node from the leaves.
func (t *tree) build() {
	for i := t.size - 1; i >= 1; i-- {
		t.nodes[i] = merge(&t.nodes[2*i], &t.nodes[2*i+1])
	}
}

// set replaces leaf i and updates its ancestors.
func (t *tree) set(i int, n node) {
	j := t.size + i
	t.nodes[j] = n
	for j /= 2; j >= 1; j /= 2 {
		t.nodes[j] = merge(&t.nodes[2*j], &t.nodes[2*j+1])
	}
}

func (t *tree) root() *node { return &t.nodes[1] }

func merge(a, b *node) node {
	n := *a
	if pairLess(b.lrpBase, b.lrpRank, a.lrpBase, a.lrpRank) {
		n.lrpBase, n.lrpRank = b.lrpBase, b.lrpRank
	}
	if pairLess(b.taskBase, b.taskRank, a.taskBase, a.taskRank) {
		n.taskBase, n.taskRank = b.taskBase, b.taskRank
	}
	if b.pairTasks < a.pairTasks || b.pairTasks == a.pairTasks && pairLess(b.pairBase, b.pairRank, a.pairBase, a.pairRank) {
		n.pairTasks, n.pairBase, n.pairRank = b.pairTasks, b.pairBase, b.pairRank
	}
	n.maxMem = max(a.maxMem, b.maxMem)
	n.maxDisk = max(a.maxDisk, b.maxDisk)
	n.maxContainers = max(a.maxContainers, b.maxContainers)
	n.totalMem = a.totalMem.union(b.totalMem)
	n.totalDisk = a.totalDisk.union(b.totalDisk)
	return n
}

func pairLess(b1 float64, r1 uint32, b2 float64, r2 uint32) bool {
	return b1 < b2 || b1 == b2 && r1 < r2
}

// search updates q.best with the least key of a cell in t with room for q,
// if it beats q.best.
func (t *tree) search(q *query) {
	t.visit(1, q.bound(t.root()), q)
}

func (t *tree) visit(i int, bound key, q *query) {
	n := &t.nodes[i]
	if n.maxContainers < 1 || n.maxMem < q.mem || n.maxDisk < q.disk {
		return // no cell below has room
	}
	if q.found && !bound.less(q.best) {
		return // no cell below beats the best
	}
	if i >= t.size {
		q.offer(i-t.size, n)
		return
	}
	l, r := 2*i, 2*i+1
	bl, br := q.bound(&t.nodes[l]), q.bound(&t.nodes[r])
	if br.less(bl) {
		l, r, bl, br = r, l, br, bl
	}
	t.visit(l, bl, q)
	t.visit(r, br, q)
}
