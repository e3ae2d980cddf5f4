package scalebench

import (
	"context"
	"time"
)

// Sampler returns the values to record at one tick, by series name; a
// series left out is not recorded at that tick.
type Sampler func(ctx context.Context, now time.Time) map[string]float64

// Track records sample's values in rec every interval until ctx ends (a
// first tick at once).
func Track(ctx context.Context, interval time.Duration, rec *Recorder, sample Sampler) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		now := time.Now()
		for name, v := range sample(ctx, now) {
			rec.Add(name, now, v)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// LatencySampler samples family's p99 across all labels over each interval
// between consecutive scrapes (series "<series>") and the request rate
// ("<series> rate/s"). The first tick, and a failed scrape, record nothing.
func LatencySampler(sc Scraper, family, series string) Sampler {
	var prev Scrape
	return func(ctx context.Context, _ time.Time) map[string]float64 {
		cur, err := sc.Scrape(ctx)
		if err != nil {
			return nil
		}
		defer func() { prev = cur }()
		if prev.Families == nil {
			return nil
		}
		l := HistogramDeltaAll(prev, cur, family, series)
		out := map[string]float64{series: l.P99}
		if d := cur.At.Sub(prev.At).Seconds(); d > 0 {
			out[series+" rate/s"] = float64(l.Count) / d
		}
		return out
	}
}

// RunningSampler samples a Running counter: "running" (indexes with a
// RUNNING instance) and "running lrps" (evacuating copies included).
func RunningSampler(r *Running) Sampler {
	return func(context.Context, time.Time) map[string]float64 {
		c := r.Counts()
		return map[string]float64{"running": float64(c.Indexes), "running lrps": float64(c.LRPs)}
	}
}
