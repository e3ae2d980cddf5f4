package simcells

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"
)

// settle lets the runtime finish what is in flight and returns the heap in
// use and the goroutines.
func settle() (heap, stack uint64, goroutines int) {
	var ms runtime.MemStats
	for range 5 {
		time.Sleep(300 * time.Millisecond)
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine()
}

func perUnit(after, before uint64, n int) float64 {
	return float64(int64(after)-int64(before)) / float64(n)
}

// BenchmarkCellCost reports what a simulated cell costs in this process
// when idle (heap bytes and goroutines, with its share of the BBS and
// Locket serving it, which run in the same process), and what each
// RUNNING instance adds. It measures once whatever b.N is: run it with
// -benchtime=1x. SIMCELLS_COST_CELLS sets the number of cells (default 40)
// and SIMCELLS_COST_PER_CELL the instances per cell (default 10; 0 measures
// idle cells only); SIMCELLS_PROFILE_DIR, if set, receives goroutine
// and heap profiles taken with every instance RUNNING.
func BenchmarkCellCost(b *testing.B) {
	cells, perCell := 40, 10
	if n, err := strconv.Atoi(os.Getenv("SIMCELLS_COST_CELLS")); err == nil && n > 0 {
		cells = n
	}
	if n, err := strconv.Atoi(os.Getenv("SIMCELLS_COST_PER_CELL")); err == nil && n >= 0 {
		perCell = n
	}
	if os.Getenv("SIMCELLS_PROFILE_DIR") != "" {
		runtime.MemProfileRate = 16 << 10
	}
	s := startSystem(b, 1)
	heap0, stack0, g0 := settle()

	cfg := s.cells.cfg
	cfg.Count, cfg.CellIDPrefix = cells, "cost-cell-"
	cfg.Tweak = nil // the default 30 s bulk sync, as a cell at scale has it
	cfg.Sim.MaxContainers = max(2*perCell, 20)
	cfg.Sim.MemoryMB, cfg.Sim.DiskMB = 64*int64(cfg.Sim.MaxContainers), 64*int64(cfg.Sim.MaxContainers)
	start := time.Now()
	more, err := Start(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d cells started in %v", cells, time.Since(start).Round(time.Millisecond))
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = more.Stop(ctx)
	})
	heap1, stack1, g1 := settle()
	b.ReportMetric(perUnit(heap1, heap0, cells), "heap-B/idle-cell")
	b.ReportMetric(perUnit(stack1, stack0, cells), "stack-B/idle-cell")
	b.ReportMetric(float64(g1-g0)/float64(cells), "goroutines/idle-cell")
	if perCell == 0 {
		return
	}

	lrps := (cells*perCell + 49) / 50
	instances := lrps * 50
	for i := range lrps {
		if err := s.bbs.Client.DesireLRP(s.log, "", app(fmt.Sprintf("cost-%d", i), 50)); err != nil {
			b.Fatal(err)
		}
	}
	s.waitRunning(b, instances, fmt.Sprintf("%d instances RUNNING", instances))
	heap2, stack2, g2 := settle()
	if dir := os.Getenv("SIMCELLS_PROFILE_DIR"); dir != "" {
		for _, name := range []string{"goroutine", "heap"} {
			f, err := os.Create(filepath.Join(dir, name+".pprof"))
			if err != nil {
				b.Fatal(err)
			}
			_ = pprof.Lookup(name).WriteTo(f, 0)
			f.Close()
		}
	}
	b.ReportMetric(perUnit(heap2, heap1, instances), "heap-B/instance")
	b.ReportMetric(perUnit(stack2, stack1, instances), "stack-B/instance")
	b.ReportMetric(float64(g2-g1)/float64(instances), "goroutines/instance")
}
