// Package metrics exposes a cell's capacity and work as Prometheus metrics,
// read from the rep's ledger at scrape time (nothing on the work path).
package metrics

import (
	"net/http"
	"time"

	"code.cloudfoundry.org/rep"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/diego-go/diego/src/rep/cell"
)

// Source is what the metrics read: the ledger.
type Source interface {
	State(now time.Time) rep.CellState
	Reservations() []cell.Reservation
}

// phases are every phase a reservation can be in, so each series exists
// (at 0) before the first container reaches it.
var phases = []cell.Phase{cell.Reserved, cell.Initializing, cell.Created, cell.Running, cell.Completed}

// Loggregator is what the metrics read of the rep's Loggregator client
// (both 0 without an agent).
type Loggregator interface {
	LoggregatorDropped() uint64
	LoggregatorSent() uint64
}

type collector struct {
	src                      Source
	logs                     Loggregator
	dropped, sent            *prometheus.Desc
	memory, disk, containers *prometheus.Desc
	evacuating, work         *prometheus.Desc
}

// Handler serves GET /metrics: the cell's metrics (labelled with its cell
// id and zone), the Loggregator envelopes sent and dropped when logs is not
// nil, and the Go runtime's.
func Handler(src Source, cellID, zone string, logs Loggregator) http.Handler {
	labels := prometheus.Labels{"cell_id": cellID, "zone": zone}
	d := func(name, help string, vars ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, vars, labels)
	}
	c := &collector{
		src:        src,
		logs:       logs,
		dropped:    d("diego_rep_loggregator_dropped_envelopes_total", "Loggregator envelopes (app log lines, container metrics) dropped because the buffer was full or the agent failed them."),
		sent:       d("diego_rep_loggregator_sent_envelopes_total", "Loggregator envelopes the agent accepted."),
		memory:     d("diego_rep_memory_mb", "Memory of the cell in MB: total capacity, and what is not reserved (available).", "kind"),
		disk:       d("diego_rep_disk_mb", "Disk of the cell in MB: total capacity, and what is not reserved (available).", "kind"),
		containers: d("diego_rep_containers", "Containers the cell may hold: total, and free slots (available).", "kind"),
		evacuating: d("diego_rep_evacuating", "1 while the cell evacuates (drain), else 0."),
		work:       d("diego_rep_work", "Containers the cell holds, by kind (lrp, task) and phase (reserved, initializing, created, running, completed).", "kind", "phase"),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.memory, c.disk, c.containers, c.evacuating, c.work} {
		ch <- d
	}
	if c.logs != nil {
		ch <- c.dropped
		ch <- c.sent
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.State(time.Now())
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	g(c.memory, float64(st.TotalResources.MemoryMB), "total")
	g(c.memory, float64(st.AvailableResources.MemoryMB), "available")
	g(c.disk, float64(st.TotalResources.DiskMB), "total")
	g(c.disk, float64(st.AvailableResources.DiskMB), "available")
	g(c.containers, float64(st.TotalResources.Containers), "total")
	g(c.containers, float64(st.AvailableResources.Containers), "available")
	ev := 0.0
	if st.Evacuating {
		ev = 1
	}
	g(c.evacuating, ev)
	if c.logs != nil {
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(c.logs.LoggregatorDropped()))
		ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(c.logs.LoggregatorSent()))
	}
	counts := map[cell.Kind]map[cell.Phase]int{cell.KindLRP: {}, cell.KindTask: {}}
	for _, r := range c.src.Reservations() {
		if counts[r.Kind] != nil {
			counts[r.Kind][r.Phase]++
		}
	}
	for _, k := range []cell.Kind{cell.KindLRP, cell.KindTask} {
		for _, p := range phases {
			g(c.work, float64(counts[k][p]), k.String(), p.String())
		}
	}
}
