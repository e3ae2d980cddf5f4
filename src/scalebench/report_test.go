package scalebench

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/golden"
)

// sampleReport has every section filled, with made-up figures.
func sampleReport() *Report {
	return &Report{
		Preset: "full", Database: "sqlite", Cells: 1200, Instances: 250000, Processes: 25612,
		Started: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC),
		Machine: Machine{Cores: 2, CPU: "Example CPU @ 2.0GHz", MemoryBytes: 8 << 30, Kernel: "6.1.0", OS: "linux", Arch: "amd64", GoVersion: "go1.26.0"},
		Ramp:    &Ramp{Seconds: 512.4, PlacementsPerSecond: 487.9, AllRunning: true},
		Components: []ComponentCost{
			{Name: "bbs", ProcSample: ProcSample{PID: 10, RSSBytes: 412 << 20, PeakRSSBytes: 530 << 20, CPUSeconds: 801.25}},
			{Name: "sim cells", ProcSample: ProcSample{PID: 11, RSSBytes: 2 << 30, PeakRSSBytes: 3 << 30, CPUSeconds: 1200}},
		},
		DBBytes:       734 << 20,
		LatencyRamp:   []Latency{{Label: "/v1/actual_lrps/start.r1", Count: 250000, Mean: 0.02, P50: 0.0125, P99: 0.61, Max: 1}},
		LatencySteady: []Latency{{Label: "/v1/cells/list.r1", Count: 1200, Mean: 0.001, P50: 0.00075, P99: 0.0042, Max: 0.005}},
		Convergence:   &Latency{Label: "convergence", Count: 20, P50: 1.2, P99: 1.9, Max: 2},
		EventLag:      &LagStats{Subscribers: 1200, Events: 900_000_000, Timed: 900_000_000, MinEvents: 750000, MaxEvents: 750000, P50: 3 * time.Millisecond, P99: 250 * time.Millisecond, Max: 900 * time.Millisecond},
		CellLoss:      &CellLoss{Instances: 208, Seconds: 9.5},
		Drain:         &Drain{Cells: 120, Seconds: 300, BelowDesired: false},
		Failover:      &Failover{ServingSeconds: 4.2, SyncedSeconds: 35, Cells: 1068, RunningSeconds: 36.5},
		Final:         &FinalCounts{Desired: 250000, Running: 250000},
		Checks: []Check{
			CheckAtMost("ramp", 512.4, 600, " s"),
			CheckAtMost("BBS RSS", 530, 600, " MB"),
			CheckAtMost("convergence p99 | pass", 2.5, 2, " s"),
		},
	}
}

// reportCmd: "report text" or "report markdown"; blank lines print as ¶.
func reportCmd(b *golden.Block) ([]string, error) {
	var buf bytes.Buffer
	r := sampleReport()
	var err error
	switch b.Cmd {
	case "report text":
		err = r.WriteText(&buf)
	case "report markdown":
		err = r.WriteMarkdown(&buf, "scale-full-sqlite.svg")
	case "report json":
		err = r.WriteJSON(&buf)
	default:
		err = errors.New("want: report text|markdown|json")
	}
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = "¶"
		}
	}
	return lines, nil
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := sampleReport()
	r.Series = []Series{{Name: "running", Points: []Point{{0, 0}, {1.5, 1200}}}}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip changed the report:\n got %+v\nwant %+v", got, r)
	}
}

func TestThisMachine(t *testing.T) {
	m := ThisMachine()
	if m.Cores < 1 || m.MemoryBytes <= 0 || m.Kernel == "" || !strings.HasPrefix(m.GoVersion, "go") {
		t.Errorf("machine facts %+v: want cores, memory, kernel and Go version", m)
	}
}
