package auctioneer

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the auctioneer's Prometheus metrics.
type Metrics struct {
	RoundDuration       prometheus.Histogram
	FetchStatesDuration prometheus.Histogram
	DecideDuration      prometheus.Histogram
	PerformDuration     prometheus.Histogram

	LRPsRequested  prometheus.Counter
	TasksRequested prometheus.Counter
	LRPsPlaced     prometheus.Counter
	LRPsFailed     prometheus.Counter
	TasksPlaced    prometheus.Counter
	TasksFailed    prometheus.Counter
	LRPsDeferred   prometheus.Counter
	TasksDeferred  prometheus.Counter

	CellsFetched          prometheus.Gauge
	CellsUnreachable      prometheus.Gauge
	CellsEvacuating       prometheus.Gauge
	CellStateFailures     prometheus.Counter
	CellStatesUnchanged   prometheus.Counter
	PerformFailures       prometheus.Counter
	FailureReportFailures prometheus.Counter
	QueuedLRPs            prometheus.Gauge
	QueuedTasks           prometheus.Gauge
	IsLeader              prometheus.Gauge
}

var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	hist := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "auctioneer", Name: name, Help: help, Buckets: durationBuckets})
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "auctioneer", Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "auctioneer", Name: name, Help: help})
	}
	m := &Metrics{
		RoundDuration:         hist("auction_duration_seconds", "Duration of an auction round: list cells, fetch states, decide, send work, report failures."),
		FetchStatesDuration:   hist("fetch_states_duration_seconds", "Time to list cells and fetch every cell's state in a round."),
		DecideDuration:        hist("decide_duration_seconds", "Time the placement decision took in a round."),
		PerformDuration:       hist("perform_duration_seconds", "Time to send every cell its work in a round."),
		LRPsRequested:         counter("lrp_instances_requested_total", "LRP instances received in start requests."),
		TasksRequested:        counter("tasks_requested_total", "Tasks received in start requests."),
		LRPsPlaced:            counter("lrp_instances_placed_total", "LRP instances a cell accepted."),
		LRPsFailed:            counter("lrp_instances_failed_total", "LRP instances that could not be placed or that a cell rejected (reported to the BBS)."),
		TasksPlaced:           counter("tasks_placed_total", "Tasks a cell accepted."),
		TasksFailed:           counter("tasks_failed_total", "Tasks that could not be placed or that a cell rejected (reported to the BBS)."),
		LRPsDeferred:          counter("lrp_instances_deferred_total", "LRP instances left for a later round by the starting-container limit."),
		TasksDeferred:         counter("tasks_deferred_total", "Tasks left for a later round by the starting-container limit."),
		CellsFetched:          gauge("cells_fetched", "Cells whose state the last round fetched."),
		CellsUnreachable:      gauge("cells_unreachable", "Cells whose state the last round could not fetch."),
		CellsEvacuating:       gauge("cells_evacuating", "Cells left out of the last round because they are evacuating."),
		CellStateFailures:     counter("cell_state_failures_total", "Failed cell state requests."),
		CellStatesUnchanged:   counter("cell_states_unchanged_total", "Cell state requests answered 304 Not Modified: the round used the cell's last state."),
		PerformFailures:       counter("perform_failures_total", "Work requests to cells that failed in transport (the work's fate is unknown; convergence re-auctions it)."),
		FailureReportFailures: counter("failure_report_failures_total", "Placement failures the BBS could not be told about."),
		QueuedLRPs:            gauge("queued_lrp_instances", "LRP instances waiting for the next round."),
		QueuedTasks:           gauge("queued_tasks", "Tasks waiting for the next round."),
		IsLeader:              gauge("is_leader", "1 while this auctioneer holds the lock and serves."),
	}
	reg.MustRegister(m.RoundDuration, m.FetchStatesDuration, m.DecideDuration, m.PerformDuration,
		m.LRPsRequested, m.TasksRequested, m.LRPsPlaced, m.LRPsFailed, m.TasksPlaced, m.TasksFailed,
		m.LRPsDeferred, m.TasksDeferred, m.CellsFetched, m.CellsUnreachable, m.CellsEvacuating,
		m.CellStateFailures, m.CellStatesUnchanged, m.PerformFailures, m.FailureReportFailures, m.QueuedLRPs, m.QueuedTasks, m.IsLeader)
	return m
}
