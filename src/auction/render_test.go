package auction

import (
	"fmt"
	"slices"
	"strings"
)

// renderResult prints a result one line per cell (sorted by id, work in
// placement order), then failures and deferrals in request order. zoneOf,
// if not nil, names each cell's zone.
func renderResult(res Result, zoneOf map[string]string) []string {
	var ids []string
	for id := range res.LRPs {
		ids = append(ids, id)
	}
	for id := range res.Tasks {
		if _, ok := res.LRPs[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []string
	for _, id := range ids {
		var work []string
		for _, l := range res.LRPs[id] {
			work = append(work, lrpName(l))
		}
		for _, t := range res.Tasks[id] {
			work = append(work, "task:"+t.TaskGuid)
		}
		name := id
		if z, ok := zoneOf[id]; ok {
			name += " (" + z + ")"
		}
		out = append(out, name+": "+strings.Join(work, " "))
	}
	for _, f := range res.FailedLRPs {
		out = append(out, "failed "+lrpName(f.LRP)+": "+f.Reason)
	}
	for _, f := range res.FailedTasks {
		out = append(out, "failed task:"+f.Task.TaskGuid+": "+f.Reason)
	}
	for _, l := range res.Deferred.LRPs {
		out = append(out, "deferred "+lrpName(l))
	}
	for _, t := range res.Deferred.Tasks {
		out = append(out, "deferred task:"+t.TaskGuid)
	}
	return out
}

func lrpName(l LRP) string { return fmt.Sprintf("%s/%d", l.ProcessGuid, l.Index) }

func render(res Result) string {
	return strings.Join(renderResult(res, nil), "\n") + "\n"
}
