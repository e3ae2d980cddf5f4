package scalebench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestLagBucketsCoverEveryValue(t *testing.T) {
	for _, ns := range []int64{0, 1, 15, 16, 17, 31, 32, 1000, 999_999, 1 << 40, 1<<62 + 12345, 1<<63 - 1} {
		b := bucketOf(ns)
		if b < 0 || b >= lagBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of range", ns, b)
		}
		hi := bucketUpper(b)
		lo := int64(0)
		if b > 0 {
			lo = bucketUpper(b-1) + 1
		}
		if ns < lo || ns > hi {
			t.Errorf("%d in bucket %d = [%d, %d]", ns, b, lo, hi)
		}
		if ns >= 16 && float64(hi-lo+1) > float64(lo)/16+1 {
			t.Errorf("bucket %d [%d, %d] wider than 1/16 of its start", b, lo, hi)
		}
	}
}

// TestLagQuantilesMatchExact compares the histogram's quantiles with the
// exact ones of a random sample: within the 6.25% bucket width, never below.
func TestLagQuantilesMatchExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var a, b LagHistogram
	var all []time.Duration
	for i := range 20000 {
		d := time.Duration(r.ExpFloat64() * float64(5*time.Millisecond))
		all = append(all, d)
		if i%2 == 0 {
			a.Observe(d)
		} else {
			b.Observe(d)
		}
	}
	a.Observe(-time.Second) // clock skew counts as 0
	all = append(all, 0)
	slices.Sort(all)
	var c LagCounts
	c.Merge(a.Snapshot())
	c.Merge(b.Snapshot())
	if c.N != uint64(len(all)) || c.Max != all[len(all)-1] {
		t.Fatalf("merged n %d max %v, want %d and %v", c.N, c.Max, len(all), all[len(all)-1])
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 1} {
		exact := all[max(int(q*float64(len(all)))-1, 0)]
		got := c.Quantile(q)
		if got < exact || float64(got) > float64(exact)*1.0625+1 {
			t.Errorf("q%v = %v, exact %v: want within +6.25%%", q, got, exact)
		}
	}
	// Only what came after a mark.
	mark := c
	var later LagHistogram
	for range 100 {
		later.Observe(time.Second)
	}
	c.Merge(later.Snapshot())
	if d := c.Sub(mark); d.N != 100 || d.Quantile(0.5) < time.Second || d.Quantile(0.5) > 1063*time.Millisecond {
		t.Errorf("interval n %d p50 %v, want 100 observations of 1s", d.N, d.Quantile(0.5))
	}
	if (LagCounts{}).Quantile(0.99) != 0 {
		t.Error("empty counts have a quantile")
	}
}
