package locket

import (
	"context"
	"time"

	"code.cloudfoundry.org/locket/models"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/status"
)

// countTimeout bounds the lock count run at each scrape.
const countTimeout = 5 * time.Second

// metrics are the Service's Prometheus metrics, all prefixed locket_.
type metrics struct {
	requests    *prometheus.CounterVec   // method, code
	duration    *prometheus.HistogramVec // method
	collisions  prometheus.Counter
	expirations *prometheus.CounterVec // type
	// storeFailing is 1 while the lock store fails (expiries postponed).
	storeFailing prometheus.Gauge
	active       *activeCollector
}

func newMetrics(st LockStore) *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "locket_requests_total",
			Help: "Locket gRPC requests by method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "locket_request_duration_seconds",
			Help:    "Time to serve a Locket request.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method"}),
		collisions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "locket_lock_collisions_total",
			Help: "Lock requests refused because another owner holds the lock.",
		}),
		expirations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "locket_expirations_total",
			Help: "Locks and presences removed by this server because their TTL passed without a refresh, by type.",
		}, []string{"type"}),
		storeFailing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "locket_store_failing",
			Help: "1 while the lock store fails; expiries are postponed until it is back and holders have had one TTL to refresh.",
		}),
		active: &activeCollector{
			store: st,
			locks: prometheus.NewDesc("locket_active_locks", "Locks (type lock) currently held, in the database.", nil, nil),
			presences: prometheus.NewDesc("locket_active_presences",
				"Presences (type presence) currently held, in the database.", nil, nil),
		},
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.collisions, m.expirations, m.storeFailing, m.active} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	// Expose both series from the start, so rate() sees the first expiry.
	m.expirations.WithLabelValues(models.LockType)
	m.expirations.WithLabelValues(models.PresenceType)
	return nil
}

// done records a finished request; *err is its result.
func (m *metrics) done(method string, start time.Time, err *error) {
	m.duration.WithLabelValues(method).Observe(time.Since(start).Seconds())
	m.requests.WithLabelValues(method, status.Code(*err).String()).Inc()
}

// activeCollector counts the locks in the database at scrape time, so every
// Locket server on one database reports the same, current numbers.
type activeCollector struct {
	store            LockStore
	locks, presences *prometheus.Desc
}

func (c *activeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.locks
	ch <- c.presences
}

func (c *activeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
	defer cancel()
	counts, err := c.store.CountLocks(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.locks, err)
		ch <- prometheus.NewInvalidMetric(c.presences, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.locks, prometheus.GaugeValue, float64(counts[models.LockType]))
	ch <- prometheus.MustNewConstMetric(c.presences, prometheus.GaugeValue, float64(counts[models.PresenceType]))
}
