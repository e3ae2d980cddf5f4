package proc

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// Stat is what the backends read from /proc/PID/stat.
type Stat struct {
	PID, PPID, PGRP int
	State           byte          // R, S, D, Z, X, ...
	CPU             time.Duration // utime + stime
	RSSBytes        uint64
	Start           string // starttime, in clock ticks since boot
}

// Zombie reports whether the process has exited and awaits its reaper.
func (s Stat) Zombie() bool { return s.State == 'Z' || s.State == 'X' }

// clockTick is USER_HZ, 100 on every Linux the backends run on.
const clockTick = 100

var pageSize = uint64(os.Getpagesize())

// ReadStat reads /proc/PID/stat; ok is false when the process is gone or
// the file cannot be parsed.
func ReadStat(pid int) (st Stat, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, false
	}
	// The command name may contain spaces and parentheses: fields start
	// after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0]=state f[1]=ppid f[2]=pgrp ... f[11]=utime f[12]=stime ... f[19]=starttime ... f[21]=rss
	if len(f) < 22 {
		return Stat{}, false
	}
	num := func(j int) uint64 { v, _ := strconv.ParseUint(string(f[j]), 10, 64); return v }
	return Stat{
		PID:      pid,
		PPID:     int(num(1)),
		PGRP:     int(num(2)),
		State:    f[0][0],
		CPU:      time.Duration(num(11)+num(12)) * time.Second / clockTick,
		RSSBytes: num(21) * pageSize,
		Start:    string(f[19]),
	}, true
}

// Alive reports whether process pid exists and has not exited.
func Alive(pid int) bool {
	st, ok := ReadStat(pid)
	return ok && !st.Zombie()
}

// PIDs lists the processes /proc shows.
func PIDs() []int {
	names, err := readDirNames("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, name := range names {
		if pid, err := strconv.Atoi(name); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

func readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}
