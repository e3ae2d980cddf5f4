package auctionsim

import (
	"context"
	"strings"
	"testing"
	"time"
)

func small() Config {
	c := DefaultConfig()
	c.Cells, c.Zones, c.Instances, c.Processes, c.Batch = 50, 3, 2000, 100, 250
	c.BatchInterval, c.Timeout = 20*time.Millisecond, time.Minute
	return c
}

// TestSimulationSpreadsWithinCapacity: 2,000 instances on 50 cells that
// take whatever they are sent: everything placed, no cell over capacity,
// no process with more than one instance more in one zone than another.
func TestSimulationSpreadsWithinCapacity(t *testing.T) {
	rep, err := Run(context.Background(), small())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Print(&b)
	t.Log("\n" + b.String())
	if rep.Placed != 2000 || rep.Failed != 0 || rep.Unknown != 0 {
		t.Errorf("placed %d, failed %d, unknown %d; want all 2000 placed", rep.Placed, rep.Failed, rep.Unknown)
	}
	if rep.OverCapacity != 0 {
		t.Errorf("%d cells over capacity", rep.OverCapacity)
	}
	if rep.MaxZoneSkew > 1 {
		t.Errorf("zone skew %d in %d processes; want at most 1", rep.MaxZoneSkew, rep.ProcessesSkewed)
	}
	if rep.CellMax-rep.CellMin > 3 {
		t.Errorf("instances per cell range %d..%d; want an even spread", rep.CellMin, rep.CellMax)
	}
	if len(rep.Probe) == 0 || rep.Held != 2000+small().Batch {
		t.Errorf("probe rounds %d, cells hold %d", len(rep.Probe), rep.Held)
	}
	if rep.PlacementsPerSecond <= 0 || rep.Stats().Rounds == 0 {
		t.Errorf("no throughput measured: %+v", rep.Stats())
	}
}

// TestSimulationFailsWhatDoesNotFit: more memory asked than the cells have;
// the rest fail with the placement error and still no cell is over-committed.
func TestSimulationFailsWhatDoesNotFit(t *testing.T) {
	c := small()
	c.Cells, c.Instances, c.Processes, c.Batch = 6, 120, 12, 60
	c.MemoryMix = []MemoryShare{{512, 1}}
	c.CellMemoryMB = 4096 // 8 instances a cell: 48 fit
	rep, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Placed != 48 || rep.Failed != 72 || rep.OverCapacity != 0 {
		t.Errorf("placed %d, failed %d, over capacity %d; want 48, 72, 0", rep.Placed, rep.Failed, rep.OverCapacity)
	}
	if n := rep.FailureReasons["insufficient resources: memory"]; n != 72 {
		t.Errorf("failure reasons %v; want 72 x insufficient resources: memory", rep.FailureReasons)
	}
}

func TestParseMemoryMix(t *testing.T) {
	mix, err := ParseMemoryMix("256:3, 1024")
	if err != nil || len(mix) != 2 || mix[0] != (MemoryShare{256, 3}) || mix[1] != (MemoryShare{1024, 1}) {
		t.Errorf("ParseMemoryMix = %v, %v", mix, err)
	}
	for _, bad := range []string{"", "x", "256:0", "-1:2", "256:a"} {
		if _, err := ParseMemoryMix(bad); err == nil {
			t.Errorf("ParseMemoryMix(%q) accepted it", bad)
		}
	}
}

func TestReportCheck(t *testing.T) {
	if err := (&Report{MaxZoneSkew: 1}).Check(); err != nil {
		t.Errorf("a skew of 1 failed: %v", err)
	}
	err := (&Report{OverCapacity: 2, MaxZoneSkew: 3, ProcessesSkewed: 4}).Check()
	for _, want := range []string{"2 cells over capacity", "zone skew 3 (> 1) in 4 processes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %v; want it to say %q", err, want)
		}
	}
}
