package process

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// procStat is what the backend reads from /proc/PID/stat.
type procStat struct {
	pid, pgrp int
	zombie    bool
	cpu       time.Duration // utime + stime
	rssBytes  uint64
}

// clockTick is USER_HZ, 100 on every Linux the backend runs on.
const clockTick = 100

var pageSize = uint64(os.Getpagesize())

// scanGroups returns the live (non-zombie) processes whose process group is
// in groups, and the groups that had any member at all (zombies included).
// Processes that left their group (setsid/setpgid) are not seen: the process
// backend has no cgroups to follow them.
func scanGroups(groups map[int]struct{}) (live []procStat, seen map[int]bool) {
	seen = map[int]bool{}
	if len(groups) == 0 {
		return nil, seen
	}
	d, err := os.Open("/proc")
	if err != nil {
		return nil, seen
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		st, ok := readStat(pid)
		if !ok {
			continue
		}
		if _, mine := groups[st.pgrp]; !mine {
			continue
		}
		seen[st.pgrp] = true
		if !st.zombie {
			live = append(live, st)
		}
	}
	return live, seen
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// The command name may contain spaces and parentheses: fields start
	// after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0]=state f[1]=ppid f[2]=pgrp ... f[11]=utime f[12]=stime ... f[21]=rss
	if len(f) < 22 {
		return procStat{}, false
	}
	num := func(j int) uint64 { v, _ := strconv.ParseUint(string(f[j]), 10, 64); return v }
	pgrp, _ := strconv.Atoi(string(f[2]))
	return procStat{
		pid:      pid,
		pgrp:     pgrp,
		zombie:   f[0][0] == 'Z' || f[0][0] == 'X',
		cpu:      time.Duration(num(11)+num(12)) * time.Second / clockTick,
		rssBytes: num(21) * pageSize,
	}, true
}

// signalGroups sends sig to every group; errors (an empty group) are ignored.
func signalGroups(groups map[int]struct{}, sig syscall.Signal) {
	for g := range groups {
		_ = syscall.Kill(-g, sig)
	}
}
