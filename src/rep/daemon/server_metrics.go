package daemon

// The server side: GET /container_metrics.

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"code.cloudfoundry.org/executor/containermetrics"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/container"
)

// metricsCache keeps each container's last CPU time sample, so the CPU
// usage fraction is measured between two calls.
type metricsCache struct {
	mu   sync.Mutex
	last map[string]cpuSample
}

type cpuSample struct {
	cpu time.Duration
	at  time.Time
}

// fraction records a sample and returns the CPU used since the previous
// one as a fraction of one core (0 for the first sample).
func (m *metricsCache) fraction(handle string, cpu time.Duration, now time.Time) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[string]cpuSample{}
	}
	prev, ok := m.last[handle]
	m.last[handle] = cpuSample{cpu, now}
	if !ok || !now.After(prev.at) || cpu < prev.cpu {
		return 0
	}
	return float64(cpu-prev.cpu) / float64(now.Sub(prev.at))
}

// forget drops samples of containers that are gone.
func (m *metricsCache) forget(keep map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h := range m.last {
		if !keep[h] {
			delete(m.last, h)
		}
	}
}

// ContainerMetrics reports the resource usage of every LRP instance and
// task container on the cell (GET /container_metrics).
func (d *Daemon) ContainerMetrics(ctx context.Context) (rep.ContainerMetricsCollection, error) {
	out := rep.ContainerMetricsCollection{CellID: d.cfg.CellID, LRPs: []rep.LRPMetric{}, Tasks: []rep.TaskMetric{}}
	cs, err := d.backend.Containers(ctx)
	if err != nil {
		return out, err
	}
	now := time.Now()
	seen := map[string]bool{}
	for _, c := range cs {
		info, err := c.Info(ctx)
		if errors.Is(err, container.ErrNotFound) {
			continue
		} else if err != nil {
			return out, err
		}
		m, err := c.Metrics(ctx)
		if errors.Is(err, container.ErrNotFound) {
			continue
		} else if err != nil {
			return out, err
		}
		seen[c.Handle()] = true
		rx, tx := m.RxBytes, m.TxBytes
		cm := containermetrics.CachedContainerMetrics{
			MetricGUID:       info.Properties["process_guid"],
			CPUUsageFraction: d.metricsCache.fraction(c.Handle(), m.CPUTime, now),
			DiskUsageBytes:   m.DiskBytes, DiskQuotaBytes: m.DiskLimit,
			MemoryUsageBytes: m.MemoryBytes, MemoryQuotaBytes: m.MemoryLimit,
			RxBytes: &rx, TxBytes: &tx,
		}
		switch info.Properties[propKind] {
		case kindLRP:
			idx, _ := strconv.Atoi(info.Properties["index"])
			out.LRPs = append(out.LRPs, rep.LRPMetric{
				InstanceGUID: c.Handle(), ProcessGUID: info.Properties["process_guid"], Index: int32(idx),
				CachedContainerMetrics: cm,
			})
		case kindTask:
			cm.MetricGUID = c.Handle()
			out.Tasks = append(out.Tasks, rep.TaskMetric{TaskGUID: c.Handle(), CachedContainerMetrics: cm})
		}
	}
	d.metricsCache.forget(seen)
	return out, nil
}
