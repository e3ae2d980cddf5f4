package view

import (
	"io"
	"strings"

	"github.com/diego-go/diego/src/internal/promtext"
)

// ParseMetrics reads the Prometheus text format: each sample's value by
// name, labels dropped except quantile="0.5", which becomes NAME_p50, and
// summed over the label sets of one name. Malformed lines are skipped.
func ParseMetrics(r io.Reader) map[string]float64 {
	fams, _ := promtext.Parse(r) // the well-formed lines, whatever the rest holds
	out := map[string]float64{}
	for _, f := range fams {
		for _, s := range f.Samples {
			name := s.Name
			if q, ok := s.Labels.Lookup("quantile"); ok {
				if q != "0.5" {
					continue
				}
				name += "_p50"
			}
			out[name] += s.Value
		}
	}
	return out
}

// Rate is the per-second increase of the counters named by suffix (summed)
// between two scrapes seconds apart; 0 when it cannot tell.
func Rate(before, after map[string]float64, suffix string, seconds float64) float64 {
	if seconds <= 0 || before == nil {
		return 0
	}
	var d float64
	for name, v := range after {
		if strings.HasSuffix(name, suffix) {
			if b, ok := before[name]; ok && v >= b {
				d += v - b
			}
		}
	}
	return d / seconds
}

// Pick returns the first metric whose name contains every part, and
// whether there was one (names checked in sorted order for a stable answer).
func Pick(m map[string]float64, parts ...string) (float64, bool) {
	best, found := "", false
	for name := range m {
		ok := true
		for _, p := range parts {
			if !strings.Contains(name, p) {
				ok = false
				break
			}
		}
		if ok && (!found || name < best) {
			best, found = name, true
		}
	}
	return m[best], found
}

// Mean is the mean of a histogram or summary NAME (from NAME_sum and
// NAME_count): over the observations made between the two scrapes when
// there were some, else over all of after's; false when after has none.
func Mean(before, after map[string]float64, name string) (float64, bool) {
	sum, count := after[name+"_sum"], after[name+"_count"]
	if count <= 0 {
		return 0, false
	}
	if b, ok := before[name+"_count"]; ok && count > b {
		return (sum - before[name+"_sum"]) / (count - b), true
	}
	return sum / count, true
}
