package daemon

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/executor/containermetrics"

	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/loggregator"
	"github.com/diego-go/diego/src/wallclock"
)

// LoggregatorSettings turn on sending app logs to a Loggregator agent (the
// reference rep's loggregator block). Empty AgentAddress: off.
type LoggregatorSettings struct {
	// AgentAddress is the agent's gRPC ingress, host:port (localhost:3458 on a BOSH cell).
	AgentAddress string `json:"agent_address,omitempty"`
	CAFile       string `json:"ca_file,omitempty"`
	CertFile     string `json:"cert_file,omitempty"`
	KeyFile      string `json:"key_file,omitempty"`
	// BufferSize bounds the envelopes waiting; beyond it lines are dropped (default 10000).
	BufferSize int `json:"buffer_size,omitempty"`
	// BatchSize and BatchInterval: an envelope waits at most BatchInterval
	// (default 1s) for BatchSize (default 100) others.
	BatchSize     int      `json:"batch_size,omitempty"`
	BatchInterval Duration `json:"batch_interval,omitempty"`
	// MetricsInterval is how often each container's usage is sent as gauges
	// (default 15s, the reference's container_metrics_report_interval).
	MetricsInterval Duration `json:"metrics_interval,omitempty"`
}

// DefaultLoggregatorMetricsInterval is LoggregatorSettings.MetricsInterval's default.
const DefaultLoggregatorMetricsInterval = 15 * time.Second

func (s LoggregatorSettings) validate() []error {
	if s.AgentAddress == "" {
		return nil
	}
	var errs []error
	if s.CAFile == "" || s.CertFile == "" || s.KeyFile == "" {
		errs = append(errs, errors.New("loggregator.agent_address needs loggregator ca_file, cert_file and key_file (mutual TLS)"))
	}
	if s.BufferSize < 0 || s.BatchSize < 0 || s.BatchInterval < 0 || s.MetricsInterval < 0 {
		errs = append(errs, errors.New("loggregator buffer_size, batch_size, batch_interval and metrics_interval must not be negative"))
	}
	return errs
}

// startLoggregator makes the client when the settings name an agent.
func (d *Daemon) startLoggregator() error {
	s := d.cfg.Loggregator
	if s.AgentAddress == "" {
		return nil
	}
	tlsCfg, err := pki.ClientTLSConfig(s.CAFile, s.CertFile, s.KeyFile)
	if err != nil {
		return fmt.Errorf("loggregator TLS: %w", err)
	}
	d.loggregator, err = loggregator.New(loggregator.Config{
		Address: s.AgentAddress, TLS: tlsCfg, BufferSize: s.BufferSize, BatchSize: s.BatchSize,
		BatchInterval: time.Duration(s.BatchInterval), Logger: d.log,
	})
	if err != nil {
		return err
	}
	interval := time.Duration(s.MetricsInterval)
	if interval == 0 {
		interval = DefaultLoggregatorMetricsInterval
	}
	d.background(func() { d.sendContainerMetrics(interval) })
	return nil
}

// sendContainerMetrics sends, every interval, the usage of each container
// whose output goes to Loggregator, tagged as its lines are.
func (d *Daemon) sendContainerMetrics(interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-tick.C:
		}
		ms, err := d.ContainerMetrics(d.ctx)
		if err != nil {
			d.log.Warn("loggregator: container metrics; skipping this interval", "error", err)
			continue
		}
		now := wallclock.Now()
		emit := func(handle string, m containermetrics.CachedContainerMetrics) {
			if tags, ok := d.loggregatorTags.Load(handle); ok {
				d.loggregator.Emit(loggregator.MetricsEnvelope(tags.(map[string]string), loggregator.ContainerMetric{
					CPUPercentage: m.CPUUsageFraction * 100, MemoryBytes: m.MemoryUsageBytes, MemoryQuotaBytes: m.MemoryQuotaBytes,
					DiskBytes: m.DiskUsageBytes, DiskQuotaBytes: m.DiskQuotaBytes,
				}, now))
			}
		}
		for _, l := range ms.LRPs {
			emit(l.InstanceGUID, l.CachedContainerMetrics)
		}
		for _, t := range ms.Tasks {
			emit(t.TaskGUID, t.CachedContainerMetrics)
		}
	}
}

func (d *Daemon) closeLoggregator() {
	if d.loggregator != nil {
		_ = d.loggregator.Close()
	}
}

// appLogs are a container's Loggregator writers, one pair per log source.
type appLogs struct {
	d       *Daemon
	handle  string
	c       *loggregator.Client
	tags    map[string]string
	index   int
	logGuid string
	mu      sync.Mutex
	opened  []*loggregator.Writer
}

// withLoggregator returns the container's Loggregator side, tagged from
// its metric_tags (with the index and instance guid resolved), and has its
// usage sent as gauges until flush. Without an agent it returns nil, which
// sends nothing.
func (d *Daemon) withLoggregator(o outputSpec) *appLogs {
	if d.loggregator == nil {
		return nil
	}
	tags, err := models.ConvertMetricTags(o.metricTags, map[models.MetricTagValue_DynamicValue]any{
		models.MetricTagDynamicValueIndex: o.index, models.MetricTagDynamicValueInstanceGuid: o.instanceGuid,
	})
	if err != nil {
		d.log.Warn("loggregator: metric_tags; sending without them", "error", err)
	}
	a := &appLogs{d: d, handle: o.handle, c: d.loggregator, tags: tags, index: int(o.index), logGuid: o.logGuid}
	d.loggregatorTags.Store(o.handle, a.source(o.source).Tags)
	return a
}

func (a *appLogs) source(sourceType string) loggregator.Source {
	return loggregator.AppSource(a.tags, a.logGuid, a.index, sourceType)
}

// writers are the envelope writers of sourceType's stdout (OUT) and stderr (ERR).
func (a *appLogs) writers(sourceType string) (stdout, stderr io.Writer) {
	src := a.source(sourceType)
	out, errw := a.c.Writer(src, false), a.c.Writer(src, true)
	a.mu.Lock()
	a.opened = append(a.opened, out, errw)
	a.mu.Unlock()
	return out, errw
}

// line sends one message tagged with sourceType.
func (a *appLogs) line(sourceType, msg string, stderr bool) {
	a.c.Emit(loggregator.LogEnvelope(a.source(sourceType), []byte(msg), stderr, wallclock.Now()))
}

func (a *appLogs) flush() {
	if a == nil {
		return
	}
	a.d.loggregatorTags.Delete(a.handle)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range a.opened {
		w.Flush()
	}
}

// LoggregatorDropped is how many envelopes were dropped (0 without an agent).
func (d *Daemon) LoggregatorDropped() uint64 {
	if d.loggregator == nil {
		return 0
	}
	return d.loggregator.Dropped()
}

// LoggregatorSent is how many envelopes the agent accepted (0 without an agent).
func (d *Daemon) LoggregatorSent() uint64 {
	if d.loggregator == nil {
		return 0
	}
	return d.loggregator.Sent()
}
