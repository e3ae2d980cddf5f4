package main

import (
	"fmt"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/internal/procmem"
	"github.com/diego-go/diego/src/rep/daemon"
	"github.com/diego-go/diego/src/rep/reptest"
)

// rssKB reads VmRSS and VmHWM (peak) of pid in KiB.
func rssKB(tb testing.TB, pid int) (rss, peak int64) {
	rss, peak, err := procmem.Read(pid)
	if err != nil {
		tb.Fatal(err)
	}
	return rss, peak
}

// BenchmarkRepRSS250 runs the rep binary (process backend) with 250 running
// instances, placed in batches of 50 as the auctioneer sends them, lets it
// run bulk syncs every second for a few seconds, and reports its resident
// memory (now and peak).
func BenchmarkRepRSS250(b *testing.B) {
	const n, batch = 250, 50
	h := reptest.StartBBS(b)
	lg := lager.NewLogger("bench")
	e := &cellEnv{h: h, lg: lg, cellID: "cell-rss"}
	cfg := e.baseConfig(b)
	cfg.MemoryMB, cfg.DiskMB, cfg.MaxContainers = n*32, n*32, n
	cfg.SyncInterval = daemon.Duration(time.Second)
	cfg.LogLevel = "info"
	p := startRep(b, writeJSON(b, cfg))
	e.waitListed(b, p)

	rc := e.repClient(b, p, 30*time.Second)
	var work []rep.LRP
	for i := range n {
		pg := fmt.Sprintf("pg-rss-%d", i)
		d := reptest.Sleeper(pg, "bench")
		if err := h.Client.DesireLRP(lg, "", d); err != nil {
			b.Fatal(err)
		}
		lrps, err := h.Client.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: pg})
		if err != nil || len(lrps) != 1 {
			b.Fatalf("actual LRP of %s: %v %v", pg, lrps, err)
		}
		work = append(work, reptest.LRP(fmt.Sprintf("ig-rss-%d", i), lrps[0].ActualLRPKey, d))
	}
	b.ResetTimer()
	for lo := 0; lo < n; lo += batch {
		rejected, err := rc.Perform(lg, rep.Work{LRPs: work[lo:min(lo+batch, n)]})
		if err != nil || len(rejected.LRPs) != 0 {
			b.Fatalf("perform: %d rejected, %v", len(rejected.LRPs), err)
		}
	}
	eventually(b, 2*time.Minute, "250 instances RUNNING", func() (bool, string) {
		lrps, err := h.Client.ActualLRPs(lg, "", models.ActualLRPFilter{CellID: e.cellID})
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for _, l := range lrps {
			if l.State == models.ActualLRPStateRunning {
				running++
			}
		}
		return running == n, fmt.Sprintf("%d RUNNING", running)
	})
	b.StopTimer()
	time.Sleep(5 * time.Second) // five bulk syncs over 250 instances
	rss, peak := rssKB(b, p.cmd.Process.Pid)
	b.ReportMetric(float64(rss)/1024, "rss-MB")
	b.ReportMetric(float64(peak)/1024, "peak-rss-MB")
}
