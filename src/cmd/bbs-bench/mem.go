package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/diego-go/diego/src/internal/procmem"
)

// memSampler polls a process's resident memory (in MB) and keeps the peak.
type memSampler struct {
	pid  int
	mu   sync.Mutex
	peak float64
	last float64
	done chan struct{}
	wg   sync.WaitGroup
}

func startMemSampler(pid int, every time.Duration) *memSampler {
	m := &memSampler{pid: pid, done: make(chan struct{})}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.done:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memSampler) sample() {
	rssKB, peakKB, err := procmem.Read(m.pid)
	if err != nil {
		return
	}
	rss, hwm := float64(rssKB)/1024, float64(peakKB)/1024
	m.mu.Lock()
	m.last = rss
	m.peak = max(m.peak, rss, hwm)
	m.mu.Unlock()
}

func (m *memSampler) stop() (peak, final float64) {
	close(m.done)
	m.wg.Wait()
	m.sample()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peak, m.last
}

func printResults(w io.Writer, r Results) {
	fmt.Fprintf(w, "\n== BBS benchmark %s ==\n", r.Label)
	fmt.Fprintf(w, "desired LRPs                  %d (actual %d)\n", r.Desired, r.Actual)
	fmt.Fprintf(w, "desire                        %.0f LRPs/s\n", r.DesirePerSec)
	fmt.Fprintf(w, "list scheduling infos         %.3f s median (best %.3f s)\n", r.ListSchedInfosSec, r.ListBestSec[0])
	fmt.Fprintf(w, "list desired LRPs             %.3f s median (best %.3f s)\n", r.ListDesiredSec, r.ListBestSec[1])
	fmt.Fprintf(w, "list actual LRPs              %.3f s median (best %.3f s)\n", r.ListActualSec, r.ListBestSec[2])
	fmt.Fprintf(w, "claim+start                   %.0f calls/s (%d calls)\n", r.ClaimStartPerSec, r.ClaimStartCalls)
	fmt.Fprintf(w, "one cell's actual LRPs        p50 %.2f ms, p99 %.2f ms (%d instances)\n", r.CellQueryP50Ms, r.CellQueryP99Ms, r.CellQueryInstances)
	if r.RSSPeakMB > 0 {
		fmt.Fprintf(w, "server resident memory        peak %.0f MB, final %.0f MB\n", r.RSSPeakMB, r.RSSFinalMB)
	}
	fmt.Fprintf(w, "errors                        %d\n", r.Errors)
}
