package auction

import "code.cloudfoundry.org/rep"

// Schedule decides one round: where each request in b starts, given the
// cells' reported states. Evacuating cells take no work. Requests go in the
// reference's order (see order); each takes the compatible cell with room
// and the least score, and its resources are taken from that cell for the
// rest of the round. With no live cells every request fails with
// ReasonNoCells. Once the cluster has StartingContainerCountMaximum
// containers starting, the remaining requests are deferred.
func Schedule(cells []rep.CellState, b Batch, cfg Config) Result {
	cfg = cfg.sanitized()
	res := Result{LRPs: map[string][]LRP{}, Tasks: map[string][]Task{}}
	reqs := order(&b)
	x := newIndex(cells, reqs, cfg)
	for _, r := range reqs {
		switch {
		case len(x.cells) == 0:
			res.fail(r, ReasonNoCells)
		case cfg.StartingContainerCountMaximum > 0 && x.inflight >= cfg.StartingContainerCountMaximum:
			res.deferRequest(r)
		case r.lrp != nil:
			if c, reason := x.placeLRP(r.lrp, r.proc); c < 0 {
				res.fail(r, reason)
			} else {
				id := x.cells[c].state.CellID
				res.LRPs[id] = append(res.LRPs[id], *r.lrp)
			}
		default:
			if c, reason := x.placeTask(r.task); c < 0 {
				res.fail(r, reason)
			} else {
				id := x.cells[c].state.CellID
				res.Tasks[id] = append(res.Tasks[id], *r.task)
			}
		}
	}
	return res
}

func (res *Result) fail(r request, reason string) {
	if r.lrp != nil {
		res.FailedLRPs = append(res.FailedLRPs, LRPFailure{*r.lrp, reason})
	} else {
		res.FailedTasks = append(res.FailedTasks, TaskFailure{*r.task, reason})
	}
}

func (res *Result) deferRequest(r request) {
	if r.lrp != nil {
		res.Deferred.LRPs = append(res.Deferred.LRPs, *r.lrp)
	} else {
		res.Deferred.Tasks = append(res.Deferred.Tasks, *r.task)
	}
}
