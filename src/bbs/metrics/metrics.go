// Package metrics defines the BBS's Prometheus metrics: API requests and the
// convergence figures operators alert on.
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// BBS holds every metric the BBS exports.
type BBS struct {
	Registry *prometheus.Registry

	Requests        *prometheus.CounterVec
	RequestDuration *prometheus.HistogramVec

	ConvergenceRuns     prometheus.Counter
	ConvergenceDuration prometheus.Histogram
	ConvergenceLast     prometheus.Gauge
	LRPs                *prometheus.GaugeVec // by kind: desired, missing, extra, crashed, suspect, unclaimed, claimed, running
	Tasks               *prometheus.GaugeVec // by state
	ConvergenceActions  *prometheus.CounterVec
	IsLeader            prometheus.Gauge
}

// New registers the metrics on a fresh registry (with Go and process collectors).
func New() *BBS {
	r := prometheus.NewRegistry()
	r.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	m := &BBS{
		Registry: r,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bbs_requests_total", Help: "API requests by route and outcome (ok or the error type).",
		}, []string{"route", "outcome"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bbs_request_duration_seconds", Help: "API request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		ConvergenceRuns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bbs_convergence_runs_total", Help: "Convergence passes run.",
		}),
		ConvergenceDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bbs_convergence_duration_seconds", Help: "Duration of a convergence pass (the reference warns at 10 s).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 20, 30},
		}),
		ConvergenceLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bbs_convergence_last_run_timestamp_seconds", Help: "When the last convergence pass finished.",
		}),
		LRPs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bbs_lrps", Help: "LRP instances by kind, as seen by the last convergence pass (missing and extra are what operators alert on).",
		}, []string{"kind"}),
		Tasks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bbs_tasks", Help: "Tasks by state, as seen by the last convergence pass.",
		}, []string{"state"}),
		ConvergenceActions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bbs_convergence_actions_total", Help: "Actions convergence applied, by kind.",
		}, []string{"action"}),
		IsLeader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bbs_is_leader", Help: "1 while this BBS holds the bbs lock and serves, 0 on standby.",
		}),
	}
	r.MustRegister(m.Requests, m.RequestDuration, m.ConvergenceRuns, m.ConvergenceDuration, m.ConvergenceLast,
		m.LRPs, m.Tasks, m.ConvergenceActions, m.IsLeader)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *BBS) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Instrument wraps the API handler, labelling by route. Only paths in known
// are used as labels (others become "other"), so label cardinality is bounded.
func (m *BBS) Instrument(known func(path string) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := r.URL.Path
		if !known(route) {
			route = "other"
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if strings.HasPrefix(route, "/v1/events") {
			return // streams: their duration is the subscription's life
		}
		m.RequestDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		outcome := "ok"
		if rec.status != 0 && rec.status != http.StatusOK {
			outcome = "http_" + strconv.Itoa(rec.status)
		}
		m.Requests.WithLabelValues(route, outcome).Inc()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Flush keeps event streams working through the wrapper.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
