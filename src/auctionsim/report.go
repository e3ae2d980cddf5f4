package auctionsim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/diego-go/diego/src/auctioneer"
)

// Report is what a simulation measured.
type Report struct {
	Config Config

	// Instances placed on cells, reported failed, and of unknown fate (a
	// work request failed in transport).
	Placed, Failed, Unknown int
	Rejected                int // failed because a cell rejected them
	FailureReasons          map[string]int

	// Elapsed runs from the first POST to the end of the last round that
	// placed an instance; Submit is how long the POSTs took.
	Elapsed, Submit     time.Duration
	PlacementsPerSecond float64
	Rounds              []auctioneer.RoundReport
	// Probe are the rounds of one more batch sent after the rest was
	// placed: steady state, with warm connections and full cell states.
	Probe []auctioneer.RoundReport

	// Held is the instances the cells hold at the end (the probe's too);
	// the figures below describe them.
	Held    int
	PerZone map[string]int
	// Instances per cell.
	CellMin, CellMax    int
	CellMean, CellStdev float64
	// Memory used over memory available: the whole cluster, and the
	// least and most used cell.
	MemoryUtil, MemoryUtilMin, MemoryUtilMax float64
	// MaxZoneSkew is, over processes, the most instances one zone has
	// beyond another; ProcessesSkewed counts processes with a skew above 1.
	MaxZoneSkew, ProcessesSkewed int
	// OverCapacity counts cells given more than their memory, disk or
	// containers (must be 0).
	OverCapacity int
	// Requests the cells served and connections they accepted.
	StateRequests, WorkRequests, Connections int
}

func (w *world) report(start, end time.Time, submit time.Duration, rounds []auctioneer.RoundReport) *Report {
	r := &Report{Config: w.cfg, Submit: submit, Rounds: rounds, PerZone: map[string]int{}, FailureReasons: map[string]int{}}
	for _, rr := range rounds {
		r.Placed += rr.LRPsPlaced
		r.Failed += rr.LRPsFailed
		r.Rejected += rr.LRPsRejected
		r.Unknown += rr.LRPsUnknown
	}
	w.bbs.mu.Lock()
	for k, v := range w.bbs.reasons {
		r.FailureReasons[k] = v
	}
	w.bbs.mu.Unlock()
	r.Elapsed = end.Sub(start)
	if r.Elapsed > 0 {
		r.PlacementsPerSecond = float64(r.Placed) / r.Elapsed.Seconds()
	}

	return r
}

// measureCells fills in the placement quality from what the cells hold.
func (w *world) measureCells(r *Report) {
	perCell := make([]int, len(w.cells))
	zoneOf := map[string]string{}
	byProcess := map[string]map[string]int{} // process -> zone -> instances
	var usedMem, totalMem int64
	r.MemoryUtilMin = math.Inf(1)
	for i, c := range w.cells {
		lrps := c.LRPs()
		perCell[i] = len(lrps)
		r.Held += len(lrps)
		r.PerZone[c.Zone()] += len(lrps)
		zoneOf[c.ID()] = c.Zone()
		for _, l := range lrps {
			z := byProcess[l.ProcessGuid]
			if z == nil {
				z = map[string]int{}
				byProcess[l.ProcessGuid] = z
			}
			z[c.Zone()]++
		}
		st, wk, cn := c.Requests()
		r.StateRequests, r.WorkRequests, r.Connections = r.StateRequests+st, r.WorkRequests+wk, r.Connections+cn
		if c.OverCapacity() {
			r.OverCapacity++
		}
		u, t := c.Usage(), c.Total()
		usedMem += int64(u.MemoryMB)
		totalMem += int64(t.MemoryMB)
		util := float64(u.MemoryMB) / float64(t.MemoryMB)
		r.MemoryUtilMin, r.MemoryUtilMax = math.Min(r.MemoryUtilMin, util), math.Max(r.MemoryUtilMax, util)
	}
	if totalMem > 0 {
		r.MemoryUtil = float64(usedMem) / float64(totalMem)
	}
	r.CellMin, r.CellMax, r.CellMean, r.CellStdev = spread(perCell)
	zones := make([]string, 0, len(r.PerZone))
	for z := range r.PerZone {
		zones = append(zones, z)
	}
	for _, byZone := range byProcess {
		lo, hi := math.MaxInt, 0
		for _, z := range zones {
			lo, hi = min(lo, byZone[z]), max(hi, byZone[z])
		}
		if hi-lo > r.MaxZoneSkew {
			r.MaxZoneSkew = hi - lo
		}
		if hi-lo > 1 {
			r.ProcessesSkewed++
		}
	}
}

func spread(xs []int) (lo, hi int, mean, stdev float64) {
	if len(xs) == 0 {
		return 0, 0, 0, 0
	}
	lo, hi = math.MaxInt, 0
	sum := 0
	for _, x := range xs {
		lo, hi, sum = min(lo, x), max(hi, x), sum+x
	}
	mean = float64(sum) / float64(len(xs))
	for _, x := range xs {
		stdev += (float64(x) - mean) * (float64(x) - mean)
	}
	return lo, hi, mean, math.Sqrt(stdev / float64(len(xs)))
}

// RoundStats summarises the rounds that placed something.
type RoundStats struct {
	Rounds                              int
	MaxLRPs                             int
	Total, FetchStates, Decide, Perform Summary
	FetchPlusDecideMax                  time.Duration
	FetchPlusDecideMaxLRPs              int
	// Warmup is the state fetch on taking the lock (every TLS handshake).
	Warmup time.Duration
}

// Summary is the median and maximum of durations.
type Summary struct{ P50, Max time.Duration }

func summarise(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return Summary{P50: s[len(s)/2], Max: s[len(s)-1]}
}

// Stats summarises the report's rounds.
func (r *Report) Stats() RoundStats {
	var st RoundStats
	var total, fetch, decide, perform []time.Duration
	for _, rr := range r.Rounds {
		if rr.Warmup {
			st.Warmup = rr.FetchStates
		}
		if rr.Err != nil || rr.LRPs+rr.Tasks == 0 {
			continue
		}
		st.Rounds++
		total, fetch, decide, perform = append(total, rr.Total), append(fetch, rr.FetchStates), append(decide, rr.Decide), append(perform, rr.Perform)
		if fd := rr.FetchStates + rr.Decide; fd > st.FetchPlusDecideMax {
			st.FetchPlusDecideMax, st.FetchPlusDecideMaxLRPs = fd, rr.LRPs
		}
		st.MaxLRPs = max(st.MaxLRPs, rr.LRPs)
	}
	st.Total, st.FetchStates, st.Decide, st.Perform = summarise(total), summarise(fetch), summarise(decide), summarise(perform)
	return st
}

// Check reports the placement faults a run must not have: a cell given
// more than its capacity, or a process whose zones differ by more than one
// instance.
func (r *Report) Check() error {
	var errs []error
	if r.OverCapacity > 0 {
		errs = append(errs, fmt.Errorf("%d cells over capacity", r.OverCapacity))
	}
	if r.MaxZoneSkew > 1 {
		errs = append(errs, fmt.Errorf("zone skew %d (> 1) in %d processes", r.MaxZoneSkew, r.ProcessesSkewed))
	}
	return errors.Join(errs...)
}

// Print writes the report for people.
func (r *Report) Print(out io.Writer) {
	c := r.Config
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	mix := make([]string, len(c.MemoryMix))
	for i, m := range c.MemoryMix {
		mix[i] = fmt.Sprintf("%dMB:%d", m.MemoryMB, m.Weight)
	}
	p("simulation: %d cells in %d zones (each %d MB, %d MB disk, %d containers), %d instances of %d processes (memory mix %s), %d instances per POST, %d POSTs in flight",
		c.Cells, c.Zones, c.CellMemoryMB, c.CellDiskMB, c.CellContainers, c.Instances, c.Processes, strings.Join(mix, ","), c.Batch, c.Concurrency)
	p("")
	p("placement")
	p("  placed %d, failed %d (rejected by cells %d), unknown %d", r.Placed, r.Failed, r.Rejected, r.Unknown)
	reasons := make([]string, 0, len(r.FailureReasons))
	for k, v := range r.FailureReasons {
		reasons = append(reasons, fmt.Sprintf("%d x %q", v, k))
	}
	sort.Strings(reasons)
	for _, s := range reasons {
		p("    %s", s)
	}
	zones := make([]string, 0, len(r.PerZone))
	for z, n := range r.PerZone {
		zones = append(zones, fmt.Sprintf("%s=%d", z, n))
	}
	sort.Strings(zones)
	p("  cells hold %d instances (with the steady-state probe batch below)", r.Held)
	p("  instances per zone: %s", strings.Join(zones, " "))
	p("  instances per cell: min %d, max %d, mean %.1f, stdev %.2f", r.CellMin, r.CellMax, r.CellMean, r.CellStdev)
	p("  memory utilisation: cluster %.1f%%, cells %.1f%%..%.1f%%", 100*r.MemoryUtil, 100*r.MemoryUtilMin, 100*r.MemoryUtilMax)
	p("  max zone skew per process: %d (processes with skew > 1: %d)", r.MaxZoneSkew, r.ProcessesSkewed)
	p("  cells over capacity: %d", r.OverCapacity)
	p("")
	st := r.Stats()
	p("throughput")
	p("  end to end: %d placements in %s = %.0f placements/s (POSTs done after %s)", r.Placed, r.Elapsed.Round(time.Millisecond), r.PlacementsPerSecond, r.Submit.Round(time.Millisecond))
	p("  rounds: %d, largest %d instances", st.Rounds, st.MaxLRPs)
	p("  cells served %d state and %d work requests over %d connections", r.StateRequests, r.WorkRequests, r.Connections)
	p("  warm-up on taking the lock (fetch every state, opening every connection): %s", st.Warmup.Round(time.Millisecond))
	p("  round duration      p50 %8s  max %8s", st.Total.P50.Round(time.Millisecond), st.Total.Max.Round(time.Millisecond))
	p("    fetch states      p50 %8s  max %8s", st.FetchStates.P50.Round(time.Millisecond), st.FetchStates.Max.Round(time.Millisecond))
	p("    decide            p50 %8s  max %8s", st.Decide.P50.Round(time.Millisecond), st.Decide.Max.Round(time.Millisecond))
	p("    send work         p50 %8s  max %8s", st.Perform.P50.Round(time.Millisecond), st.Perform.Max.Round(time.Millisecond))
	p("  slowest fetch states + decide: %s (a round of %d instances over %d cells)", st.FetchPlusDecideMax.Round(time.Millisecond), st.FetchPlusDecideMaxLRPs, c.Cells)
	for _, rr := range r.Probe {
		if rr.LRPs+rr.Tasks > 0 {
			p("  steady-state round (one more batch of %d instances, cells full): fetch states %s + decide %s = %s; send work %s; total %s",
				rr.LRPs, rr.FetchStates.Round(time.Millisecond), rr.Decide.Round(time.Millisecond), (rr.FetchStates + rr.Decide).Round(time.Millisecond),
				rr.Perform.Round(time.Millisecond), rr.Total.Round(time.Millisecond))
		}
	}
	p("")
	p("  round  instances  placed  failed  fetch      decide     send work  total")
	n := 0
	for _, rr := range r.Rounds {
		if rr.LRPs+rr.Tasks == 0 {
			continue
		}
		n++
		p("  %5d  %9d  %6d  %6d  %-9s  %-9s  %-9s  %s", n, rr.LRPs, rr.LRPsPlaced, rr.LRPsFailed,
			rr.FetchStates.Round(time.Millisecond), rr.Decide.Round(time.Millisecond), rr.Perform.Round(time.Millisecond), rr.Total.Round(time.Millisecond))
	}
}
