package process

import (
	"syscall"

	"github.com/diego-go/diego/src/rep/container/proc"
)

// scanGroups returns the live (non-zombie) processes whose process group is
// in groups, and the groups that had any member at all (zombies included).
// Processes that left their group (setsid/setpgid) are not seen: the process
// backend has no cgroups to follow them.
func scanGroups(groups map[int]struct{}) (live []proc.Stat, seen map[int]bool) {
	seen = map[int]bool{}
	if len(groups) == 0 {
		return nil, seen
	}
	for _, pid := range proc.PIDs() {
		st, ok := proc.ReadStat(pid)
		if !ok {
			continue
		}
		if _, mine := groups[st.PGRP]; !mine {
			continue
		}
		seen[st.PGRP] = true
		if !st.Zombie() {
			live = append(live, st)
		}
	}
	return live, seen
}

// signalGroups sends sig to every group; errors (an empty group) are ignored.
func signalGroups(groups map[int]struct{}, sig syscall.Signal) {
	for g := range groups {
		_ = syscall.Kill(-g, sig)
	}
}
