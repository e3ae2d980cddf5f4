package auction

// The score of a request on a cell, lowest wins, is the reference's:
//
//	mean(used fraction of memory, of disk, of containers, after placing)
//	+ StartingContainerWeight × containers starting on the cell
//	+ 1000 × instances of the same process on the cell (tasks: tasks on the cell)
//	+ BinPackFirstFitWeight × cell index (LRPs only)
//
// It is computed as two parts so that an index can bound it without knowing
// the request. A used fraction after placing is (total − available +
// request) / total, so the score splits into a base that depends only on the
// cell (everything but the request's share) and the request's share of the
// cell's memory and disk, which depends only on the request and the cell's
// totals. score adds them with one rounding, then adds the locality penalty,
// so it never decreases when base, share or locality grows: the least of
// each over a set of cells gives a score no cell in the set beats. (The
// value is the reference's; only the last bit may round differently.)
//
// Cells are compared by key: score, then base, then a rank drawn from the
// seeded RNG. Base only decides between scores equal after rounding, where it
// is the more exact comparison; rank breaks true ties.

// localityOffset is the reference's penalty per instance of the same
// process (or, for a task, per task) already on the cell.
const localityOffset = 1000

// key orders candidate cells for one request; the least key wins.
type key struct {
	score, base float64
	rank        uint32
}

func (a key) less(b key) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	if a.base != b.base {
		return a.base < b.base
	}
	return a.rank < b.rank
}

// load is a cell's base score for a task: the mean used fraction of memory,
// disk and containers before placing, counting the new container, plus the
// starting-container term. An LRP's base adds the first-fit term (lrpBase).
func load(r *resources, starting int, weight float64) float64 {
	used := (fraction(r.totalMem-r.mem, r.totalMem) +
		fraction(r.totalDisk-r.disk, r.totalDisk) +
		fraction(r.totalContainers-r.containers+1, r.totalContainers)) / 3
	return used + float64(weight*float64(starting))
}

// lrpBase is an LRP's base score: load plus the first-fit term.
func lrpBase(load float64, cellIndex int, firstFitWeight float64) float64 {
	return load + float64(firstFitWeight*float64(cellIndex))
}

// share is the request's part of the score on a cell with these totals.
func share(mem, disk, totalMem, totalDisk int64) float64 {
	return (fraction(mem, totalMem) + fraction(disk, totalDisk)) / 3
}

// score is base + share, plus the locality penalty.
func score(base, share float64, locality int64) float64 {
	s := base + share
	if locality != 0 {
		s += float64(localityOffset * float64(locality))
	}
	return s
}

// fraction is n/d, or 0 when the cell reports no such resource (d <= 0).
func fraction(n, d int64) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// resources is a cell's capacity as placement sees it, widened to int64.
type resources struct {
	mem, disk, containers                int64 // available
	totalMem, totalDisk, totalContainers int64
}

// fits reports which resources lack room for a request needing mem and disk
// and one container; all false means it fits.
func (r *resources) fits(mem, disk int64) (noMem, noDisk, noContainers bool) {
	return r.mem < mem, r.disk < disk, r.containers < 1
}
