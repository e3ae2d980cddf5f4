package loggregator

import (
	"maps"
	"time"

	v2 "code.cloudfoundry.org/go-loggregator/v8/rpc/loggregator_v2"
)

// ContainerMetric is one container's usage, as diego-logging-client's
// SendAppMetrics puts it in its first gauge envelope.
type ContainerMetric struct {
	CPUPercentage                 float64
	MemoryBytes, MemoryQuotaBytes uint64
	DiskBytes, DiskQuotaBytes     uint64
}

// MetricsEnvelope is the gauge envelope of m for the container tagged tags
// (its resolved metric_tags with source_id and instance_id).
func MetricsEnvelope(tags map[string]string, m ContainerMetric, now time.Time) *v2.Envelope {
	t := maps.Clone(tags)
	if t == nil {
		t = map[string]string{}
	}
	bytes := func(v uint64) *v2.GaugeValue { return &v2.GaugeValue{Unit: "bytes", Value: float64(v)} }
	return &v2.Envelope{
		Timestamp: now.UnixNano(), SourceId: tags["source_id"], InstanceId: tags["instance_id"], Tags: t,
		Message: &v2.Envelope_Gauge{Gauge: &v2.Gauge{Metrics: map[string]*v2.GaugeValue{
			"cpu":          {Unit: "percentage", Value: m.CPUPercentage},
			"memory":       bytes(m.MemoryBytes),
			"disk":         bytes(m.DiskBytes),
			"memory_quota": bytes(m.MemoryQuotaBytes),
			"disk_quota":   bytes(m.DiskQuotaBytes),
		}}},
	}
}
