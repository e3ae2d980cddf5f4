// Package scalerun is `diego bench scale`: it runs Locket, the BBS and the auctioneer as processes and many simulated cells in-process, desires LRPs up to a target and measures the whole system (issue 18).
package scalerun

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/diego-go/diego/src/rep/daemon"
)

// Preset is a named size.
type Preset struct {
	Instances, Cells int
	// CellPresenceTTL is the preset's default --cell-presence-ttl (0: the
	// rep's).
	CellPresenceTTL time.Duration
	// ConvergenceInterval is the preset's default --convergence-interval
	// (0: 10s, so that a short run sees passes at steady state).
	ConvergenceInterval time.Duration
	// BBSMemoryLimitMB is the preset's default --bbs-memory-limit-mb (0:
	// none).
	BBSMemoryLimitMB int
}

// Presets are the sizes: full (the reference's record), quick (for
// regular use) and tiny (the end-to-end test).
var Presets = map[string]Preset{
	// The full preset converges every 30 s, the BBS's default (and the
	// reference's): at 250,000 instances a pass is a few seconds of the
	// BBS's CPU, a fifth of it during the ramp at the quick presets' 10 s.
	// It also holds the BBS to 512 MiB (memory_limit_mb, as an operator
	// sizing a VM would): Go otherwise lets the heap grow to twice what is
	// live before collecting, 880 MiB at 250,000 instances.
	"full": {Instances: 250_000, Cells: 1_200, CellPresenceTTL: time.Minute, ConvergenceInterval: 30 * time.Second,
		BBSMemoryLimitMB: 512},
	"quick": {Instances: 25_000, Cells: 120},
	"tiny":  {Instances: 300, Cells: 10},
}

// MaxSubscribers caps the default number of event-stream subscribers.
const MaxSubscribers = 1_200

// Config says what to run and measure.
type Config struct {
	// Preset names the size ("full", "quick", "tiny"); Instances and Cells,
	// when set, override it.
	Preset    string
	Instances int
	Cells     int
	// DBDriver ("" or "sqlite", "postgres", "mysql") and DBDSN; SQLite
	// defaults to a file in Dir.
	DBDriver, DBDSN string
	// Subscribers to the instance event stream (default: one per cell,
	// at most MaxSubscribers). Each is filtered to one cell, as the route
	// emitter runs on every cell in local mode (the reference's cell_id),
	// unless Unfiltered: then each reads the whole stream.
	Subscribers int
	// Unfiltered makes every subscriber read the whole stream, as global
	// route emitters do (every event then crosses every stream).
	Unfiltered bool
	// GlobalSubscribers read the whole stream next to the per-cell ones
	// (default 2: a global route emitter, the hub); the first counts the
	// instances RUNNING. Ignored when Unfiltered.
	GlobalSubscribers int
	// Dir holds certificates, configs, logs and the SQLite database.
	Dir string
	// Out receives report.json, plot.svg and report.md (default Dir).
	Out string
	// BinDir holds the locket, bbs and auctioneer binaries (default: the
	// running executable's directory).
	BinDir string
	// StartDelay is how long a simulated instance takes to start.
	StartDelay time.Duration
	// ConvergenceInterval is the BBS's convergence_repeat_interval;
	// SteadyWindow how long steady state is measured (at least one pass).
	ConvergenceInterval time.Duration
	SteadyWindow        time.Duration
	// EvacuationPollingInterval is how often a draining cell checks whether
	// its instances have moved (default 2 s; the rep's own default, 10 s,
	// would make each cell of a rolling drain wait up to 10 s after its
	// last instance left).
	EvacuationPollingInterval time.Duration
	// CellSyncInterval, when set, is each cell's bulk sync interval (the
	// rep's default otherwise).
	CellSyncInterval time.Duration
	// CellPresenceTTL, when set, is each cell's presence TTL in Locket (the
	// rep's presence_ttl, default 15 s). The cells share the control
	// plane's two cores, which real reps do not: when their process is
	// starved for CPU for seconds, the refreshes of hundreds of presences
	// go late at once, and convergence auctions every instance of the
	// cells it then finds missing.
	CellPresenceTTL time.Duration
	// DrainFraction of the cells is drained, DrainInFlight at a time.
	DrainFraction float64
	DrainInFlight int
	// DesireConcurrency is the number of clients desiring LRPs.
	DesireConcurrency int
	// ControlNice, when not 0, is the niceness the control plane (Locket,
	// the BBS, the auctioneer) runs at. The simulated cells stand in for
	// machines of their own, yet run on the control plane's cores: a
	// negative value (diego bench scale's default, -5) gives the control
	// plane the first claim on the CPU, as its own machines would.
	ControlNice int
	// BBSMemoryLimitMB, when not 0, is the BBS's memory_limit_mb (a soft
	// limit handed to Go's runtime); 0 takes the preset's, negative sets
	// none.
	BBSMemoryLimitMB int
	// PhaseTimeout bounds each phase (ramp, cell loss, drain, failover).
	PhaseTimeout time.Duration
	// LockTTL is the BBS's and the auctioneer's lock TTL in Locket
	// (default 15 s, the reference's): a killed BBS's lock is taken by the
	// standby once it expires.
	LockTTL time.Duration
	// Pprof serves the BBS's and the auctioneer's /debug/pprof on loopback
	// (their addresses are printed when the run starts).
	Pprof bool
	// Progress receives the progress bar and phase lines (nil: discarded).
	Progress io.Writer
	// Logger receives the driver's and cells' logs (nil: discarded).
	Logger *slog.Logger
}

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.Preset == "" {
		c.Preset = "quick"
	}
	if p, ok := Presets[c.Preset]; ok {
		if c.Instances == 0 {
			c.Instances = p.Instances
		}
		if c.Cells == 0 {
			c.Cells = p.Cells
		}
		if c.CellPresenceTTL == 0 {
			c.CellPresenceTTL = p.CellPresenceTTL
		}
		if c.ConvergenceInterval == 0 {
			c.ConvergenceInterval = p.ConvergenceInterval
		}
		if c.BBSMemoryLimitMB == 0 {
			c.BBSMemoryLimitMB = p.BBSMemoryLimitMB
		}
	}
	if c.BBSMemoryLimitMB < 0 {
		c.BBSMemoryLimitMB = 0 // none, whatever the preset says
	}
	if c.Dir != "" {
		if abs, err := filepath.Abs(c.Dir); err == nil {
			c.Dir = abs
		}
	}
	if c.DBDriver == "" {
		c.DBDriver = "sqlite"
	}
	if c.DBDriver == "sqlite" && c.DBDSN == "" && c.Dir != "" {
		c.DBDSN = filepath.Join(c.Dir, "bbs.db")
	}
	if c.Subscribers == 0 {
		c.Subscribers = min(max(c.Cells, 1), MaxSubscribers)
	}
	if c.GlobalSubscribers == 0 && !c.Unfiltered {
		c.GlobalSubscribers = 2
	}
	if c.Out == "" {
		c.Out = c.Dir
	}
	if c.BinDir == "" {
		if exe, err := os.Executable(); err == nil {
			c.BinDir = filepath.Dir(exe)
		}
	}
	if c.StartDelay == 0 {
		c.StartDelay = time.Second
	}
	if c.ConvergenceInterval == 0 {
		c.ConvergenceInterval = 10 * time.Second
	}
	if c.EvacuationPollingInterval == 0 {
		c.EvacuationPollingInterval = 2 * time.Second
	}
	if c.SteadyWindow == 0 {
		// Two convergence passes, and every cell's bulk sync (steady
		// state's BBS requests) at least once.
		c.SteadyWindow = max(c.ConvergenceInterval*2, cmp.Or(c.CellSyncInterval, daemon.DefaultSyncInterval)) + 5*time.Second
	}
	if c.DrainFraction == 0 {
		c.DrainFraction = 0.1
	}
	if c.DrainInFlight == 0 {
		c.DrainInFlight = max(1, int(float64(c.Cells)*c.DrainFraction)/10)
	}
	if c.DesireConcurrency == 0 {
		c.DesireConcurrency = 16
	}
	if c.PhaseTimeout == 0 {
		c.PhaseTimeout = 20 * time.Minute
	}
	if c.LockTTL == 0 {
		c.LockTTL = 15 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	if _, ok := Presets[c.Preset]; !ok {
		errs = append(errs, fmt.Errorf("--preset %q: want full, quick or tiny", c.Preset))
	}
	if c.Instances < 1 {
		errs = append(errs, fmt.Errorf("--instances %d: want at least 1", c.Instances))
	}
	if c.Cells < 3 {
		errs = append(errs, fmt.Errorf("--cells %d: want at least 3 (one is lost, some drained)", c.Cells))
	}
	if c.DBDriver != "sqlite" && c.DBDriver != "postgres" && c.DBDriver != "mysql" {
		errs = append(errs, fmt.Errorf("--db-driver %q: want sqlite, postgres or mysql", c.DBDriver))
	}
	if c.DBDSN == "" {
		errs = append(errs, errors.New("no database: give --db-dsn (or --dir for SQLite)"))
	}
	if c.Dir == "" {
		errs = append(errs, errors.New("--dir is required"))
	}
	if c.DBDriver == "sqlite" {
		if _, err := os.Stat(c.DBDSN); err == nil {
			errs = append(errs, fmt.Errorf("%s exists: start from an empty database (remove it, or another --dir)", c.DBDSN))
		}
	}
	if c.EvacuationPollingInterval < 0 {
		errs = append(errs, fmt.Errorf("--evacuation-polling-interval %v: want a positive duration", c.EvacuationPollingInterval))
	}
	if c.CellPresenceTTL != 0 && (c.CellPresenceTTL < 2*time.Second || c.CellPresenceTTL%time.Second != 0) {
		errs = append(errs, fmt.Errorf("--cell-presence-ttl %s: want whole seconds, at least 2s (0: the rep's 15s)", c.CellPresenceTTL))
	}
	if c.ControlNice < -20 || c.ControlNice > 19 {
		errs = append(errs, fmt.Errorf("--control-nice %d: want a niceness from -20 to 19", c.ControlNice))
	}
	if c.LockTTL < 2*time.Second {
		errs = append(errs, fmt.Errorf("lock TTL %v: want at least 2s", c.LockTTL))
	}
	if c.Subscribers < 1 {
		errs = append(errs, fmt.Errorf("--subscribers %d: want at least 1", c.Subscribers))
	}
	if c.GlobalSubscribers < 0 {
		errs = append(errs, fmt.Errorf("--global-subscribers %d: want 0 or more", c.GlobalSubscribers))
	}
	if c.DrainFraction < 0 || c.DrainFraction >= 0.5 {
		errs = append(errs, fmt.Errorf("drain fraction %v: want 0 to 0.5", c.DrainFraction))
	}
	for _, bin := range []string{"locket", "bbs", "auctioneer"} {
		if _, err := os.Stat(filepath.Join(c.BinDir, bin)); err != nil {
			errs = append(errs, fmt.Errorf("%s binary not found in %s (make build, or --bin-dir)", bin, c.BinDir))
		}
	}
	return errors.Join(errs...)
}

// subscriberCell is the cell subscriber i of the lag meter is filtered
// to: "" (the whole stream) for the global ones, which come first, and
// for every one when Unfiltered.
func (c Config) subscriberCell(i int, cellID func(int) string) string {
	if c.Unfiltered || i < c.GlobalSubscribers {
		return ""
	}
	return cellID((i - c.GlobalSubscribers) % c.Cells)
}

// totalSubscribers is how many streams the lag meter opens.
func (c Config) totalSubscribers() int {
	if c.Unfiltered {
		return c.Subscribers
	}
	return c.Subscribers + c.GlobalSubscribers
}

// standby says whether a standby BBS runs (and the failover phase with
// it): two BBS need a database both can write, which SQLite is not.
func (c Config) standby() bool { return c.DBDriver != "sqlite" }

// perCell is each cell's container capacity: room for the instances with
// a lost cell and the drained ones gone, and headroom.
func (c Config) perCell() int {
	left := float64(c.Cells)*(1-c.DrainFraction) - 1
	return int(float64(c.Instances)/left*1.3) + 5
}
