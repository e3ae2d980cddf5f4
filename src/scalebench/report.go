package scalebench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Report is every figure of one scale run (issue 18's list). Durations are
// seconds; a phase that was not run is nil.
type Report struct {
	Preset    string    `json:"preset"`
	Database  string    `json:"database"`
	Cells     int       `json:"cells"`
	Instances int       `json:"instances"`
	Processes int       `json:"processes"`
	Started   time.Time `json:"started"`
	Machine   Machine   `json:"machine"`
	// ControlNice is the niceness the control plane ran at (0: as the
	// simulated cells).
	ControlNice int `json:"control_nice,omitempty"`
	// LocketEmbedded: the BBS served Locket (SQLite); its figures are the
	// BBS's.
	LocketEmbedded bool `json:"locket_embedded,omitempty"`
	// CellPresenceTTL is the simulated cells' presence TTL (0: the rep's).
	CellPresenceTTL time.Duration `json:"cell_presence_ttl,omitempty"`
	// ConvergenceInterval is the BBS's convergence_repeat_interval.
	ConvergenceInterval time.Duration `json:"convergence_interval,omitempty"`
	// BBSMemoryLimitMB is the BBS's memory_limit_mb (0: none).
	BBSMemoryLimitMB int `json:"bbs_memory_limit_mb,omitempty"`

	Ramp        *Ramp           `json:"ramp,omitempty"`
	Components  []ComponentCost `json:"components"`
	DBBytes     int64           `json:"database_bytes"`
	LatencyRamp []Latency       `json:"bbs_latency_ramp"`
	// LatencySteady is BBS request latency per route at steady state.
	LatencySteady []Latency    `json:"bbs_latency_steady"`
	Convergence   *Latency     `json:"convergence,omitempty"`
	EventLag      *LagStats    `json:"event_lag,omitempty"`
	CellLoss      *CellLoss    `json:"cell_loss,omitempty"`
	Drain         *Drain       `json:"drain,omitempty"`
	Failover      *Failover    `json:"failover,omitempty"`
	Final         *FinalCounts `json:"final,omitempty"`
	// Checks are the targets and whether this run met them.
	Checks []Check  `json:"checks,omitempty"`
	Series []Series `json:"series,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	Cores       int    `json:"cores"`
	CPU         string `json:"cpu"`
	MemoryBytes int64  `json:"memory_bytes"`
	Kernel      string `json:"kernel"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	GoVersion   string `json:"go_version"`
}

// Ramp is the time from the first desire to every instance RUNNING.
type Ramp struct {
	Seconds             float64 `json:"seconds"`
	PlacementsPerSecond float64 `json:"placements_per_second"`
	AllRunning          bool    `json:"all_running"`
}

// ComponentCost is a component's resident memory and CPU at the end of the
// run ("sim cells" is the driver's own process).
type ComponentCost struct {
	Name string `json:"name"`
	ProcSample
}

// CellLoss is a cell lost at steady state.
type CellLoss struct {
	Instances int     `json:"instances"`
	Seconds   float64 `json:"seconds_until_running_elsewhere"`
}

// Drain is a rolling drain (evacuation) of some cells.
type Drain struct {
	Cells   int     `json:"cells"`
	Seconds float64 `json:"seconds"`
	// BelowDesired: RUNNING fell below desired for some process; Dips and
	// DippedProcesses as in RunningCounts.
	BelowDesired    bool `json:"below_desired"`
	Dips            int  `json:"dips"`
	DippedProcesses int  `json:"dipped_processes"`
	// Samples are the first dips of the run (at most 20), for diagnosis.
	Samples []Dip `json:"dip_samples,omitempty"`
}

// Failover is a BBS leader failover at steady state: the active BBS is
// killed (SIGKILL) and the standby takes its lock once the lock's TTL
// expires. Times are from the kill.
type Failover struct {
	// ServingSeconds: until a ping and a read succeed against the new leader.
	ServingSeconds float64 `json:"seconds_until_standby_serves"`
	// SyncedSeconds: until each of Cells has completed a bulk sync that
	// started after the kill (every BBS call of it answered).
	SyncedSeconds float64 `json:"seconds_until_cells_synced"`
	Cells         int     `json:"cells"`
	// RunningSeconds: until every instance is RUNNING again by the counter.
	RunningSeconds float64 `json:"seconds_until_all_running"`
}

// FinalCounts are the exact counts checked at the end.
type FinalCounts struct {
	Desired    int `json:"desired"`
	Running    int `json:"running"`
	Missing    int `json:"missing"`
	Duplicated int `json:"duplicated"`
}

// Check is one target and the run's figure against it.
type Check struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Got    string `json:"got"`
	Pass   bool   `json:"pass"`
}

// CheckAtMost builds a check that got <= limit (both in unit).
func CheckAtMost(name string, got, limit float64, unit string) Check {
	return Check{Name: name, Target: "<= " + fmtNum(limit) + unit, Got: fmtNum(got) + unit, Pass: got <= limit}
}

// WriteJSON writes r indented.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(r io.Reader) (*Report, error) {
	var rep Report
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return nil, fmt.Errorf("reading report: %w", err)
	}
	return &rep, nil
}

// ThisMachine reads the machine's facts from the runtime and /proc.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.CPU = procField("/proc/cpuinfo", "model name", ":")
	if kb, err := strconv.ParseInt(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal", ":"), " kB"), 10, 64); err == nil {
		m.MemoryBytes = kb << 10
	}
	return m
}

// procField returns the trimmed value of the first "key<sep> value" line.
func procField(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// fmtNum formats a figure with at most three decimals.
func fmtNum(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}
