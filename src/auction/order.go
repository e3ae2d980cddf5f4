package auction

import (
	"cmp"
	"slices"
)

// request is one deduplicated start request: an LRP instance or a task.
type request struct {
	lrp  *LRP
	task *Task
	proc *proc // the LRP's process, set by the index
}

// order deduplicates b (LRP instances by process guid and index, tasks by
// guid; the first occurrence wins) and returns the requests in the order the
// reference auctions them: LRP instances with index 0 (or below), then tasks,
// then the other LRP instances. LRP instances go by index, then bigger memory
// first; tasks by bigger memory first. Guids break the remaining ties.
func order(b *Batch) []request {
	lrps := dedupeLRPs(b.LRPs)
	slices.SortFunc(lrps, func(x, y *LRP) int {
		return cmp.Or(cmp.Compare(x.Index, y.Index),
			cmp.Compare(y.Resource.MemoryMB, x.Resource.MemoryMB),
			cmp.Compare(x.ProcessGuid, y.ProcessGuid))
	})
	tasks := dedupeTasks(b.Tasks)
	slices.SortFunc(tasks, func(x, y *Task) int {
		return cmp.Or(cmp.Compare(y.Resource.MemoryMB, x.Resource.MemoryMB),
			cmp.Compare(x.TaskGuid, y.TaskGuid))
	})
	split, _ := slices.BinarySearchFunc(lrps, int32(1), func(l *LRP, i int32) int { return cmp.Compare(l.Index, i) })
	out := make([]request, 0, len(lrps)+len(tasks))
	for _, l := range lrps[:split] {
		out = append(out, request{lrp: l})
	}
	for _, t := range tasks {
		out = append(out, request{task: t})
	}
	for _, l := range lrps[split:] {
		out = append(out, request{lrp: l})
	}
	return out
}

type lrpKey struct {
	guid  string
	index int32
}

func dedupeLRPs(in []LRP) []*LRP {
	seen := make(map[lrpKey]struct{}, len(in))
	out := make([]*LRP, 0, len(in))
	for i := range in {
		k := lrpKey{in[i].ProcessGuid, in[i].Index}
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			out = append(out, &in[i])
		}
	}
	return out
}

func dedupeTasks(in []Task) []*Task {
	seen := make(map[string]struct{}, len(in))
	out := make([]*Task, 0, len(in))
	for i := range in {
		if _, dup := seen[in[i].TaskGuid]; !dup {
			seen[in[i].TaskGuid] = struct{}{}
			out = append(out, &in[i])
		}
	}
	return out
}
