package scalebench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits sub-buckets per power of two: 16, so a bucket is at most 1/16
// (6.25%) wide relative to its lower edge.
const (
	subBits    = 4
	subBuckets = 1 << subBits
	lagBuckets = 64 * subBuckets
)

// LagHistogram counts durations in log-linear buckets (6.25% resolution,
// 1 ns to centuries) with atomic adds: one writer and any number of
// readers need no lock, and it costs 8 KiB.
type LagHistogram struct {
	counts [lagBuckets]atomic.Uint64
	max    atomic.Int64
}

// bucketOf maps d (ns, >= 0) to its bucket.
func bucketOf(ns int64) int {
	u := uint64(ns)
	if u < subBuckets {
		return int(u)
	}
	e := bits.Len64(u) - 1 // u in [2^e, 2^(e+1))
	sub := (u >> (e - subBits)) & (subBuckets - 1)
	return (e-subBits+1)*subBuckets + int(sub)
}

// bucketUpper is the largest ns value bucket b holds.
func bucketUpper(b int) int64 {
	if b < subBuckets {
		return int64(b)
	}
	e := b/subBuckets + subBits - 1
	sub := uint64(b % subBuckets)
	lo := (uint64(1) << e) | sub<<(e-subBits)
	return int64(lo + (uint64(1) << (e - subBits)) - 1)
}

// Observe records d; a negative d (clock skew) counts as 0.
func (h *LagHistogram) Observe(d time.Duration) {
	ns := int64(d)
	if ns < 0 {
		ns = 0
	}
	h.counts[bucketOf(ns)].Add(1)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			return
		}
	}
}

// LagCounts is a point-in-time copy of one or more histograms, to merge,
// subtract and read quantiles from.
type LagCounts struct {
	Counts []uint64
	N      uint64
	Max    time.Duration
}

// Snapshot copies the histogram.
func (h *LagHistogram) Snapshot() LagCounts {
	c := LagCounts{Counts: make([]uint64, lagBuckets)}
	h.addTo(&c)
	return c
}

// addTo adds the histogram's counts into c, whose Counts must be
// lagBuckets long.
func (h *LagHistogram) addTo(c *LagCounts) {
	for i := range h.counts {
		v := h.counts[i].Load()
		c.Counts[i] += v
		c.N += v
	}
	c.Max = max(c.Max, time.Duration(h.max.Load()))
}

// Merge adds o into c. It writes a fresh slice, so copies of c taken
// earlier (marks for Sub) keep their counts.
func (c *LagCounts) Merge(o LagCounts) {
	sum := make([]uint64, lagBuckets)
	copy(sum, c.Counts)
	for i, v := range o.Counts {
		sum[i] += v
	}
	c.Counts = sum
	c.N += o.N
	c.Max = max(c.Max, o.Max)
}

// Sub returns the observations c has beyond prev. Max stays c's (the
// maximum of the whole run), since a maximum cannot be subtracted; the
// interval's highest bucket bounds it instead (see Quantile(1)).
func (c LagCounts) Sub(prev LagCounts) LagCounts {
	out := LagCounts{Counts: make([]uint64, lagBuckets), Max: c.Max}
	for i, v := range c.Counts {
		var p uint64
		if i < len(prev.Counts) {
			p = prev.Counts[i]
		}
		if v > p {
			out.Counts[i] = v - p
			out.N += v - p
		}
	}
	return out
}

// Quantile is the upper edge of the bucket holding the q-quantile (at most
// 6.25% above the true value), capped at Max; 0 when empty.
func (c LagCounts) Quantile(q float64) time.Duration {
	if c.N == 0 {
		return 0
	}
	rank := uint64(q * float64(c.N))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, v := range c.Counts {
		seen += v
		if seen >= rank {
			d := time.Duration(bucketUpper(i))
			if c.Max > 0 && d > c.Max {
				d = c.Max
			}
			return d
		}
	}
	return c.Max
}
