// Package scalebench is the measurement kit of the end-to-end scale benchmark: metric scrapes, process and database sizes, event-stream lag, time series, plots, progress and the report.
package scalebench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/diego-go/diego/src/internal/promtext"
)

// Scrape is one reading of a component's Prometheus text endpoint.
type Scrape struct {
	At       time.Time
	Families promtext.Families
}

// Scraper reads a component's metrics. The BBS serves them on its
// health_address (GET /metrics), the auctioneer and Locket on their
// metrics_address; all are plain HTTP on loopback.
type Scraper struct {
	// URL is the full address, e.g. "http://127.0.0.1:8890/metrics".
	URL string
	// Client defaults to a client with a 10 s timeout.
	Client *http.Client
}

// Scrape fetches and parses the endpoint once.
func (s Scraper) Scrape(ctx context.Context) (Scrape, error) {
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return Scrape{}, fmt.Errorf("scraping %s: %w", s.URL, err)
	}
	at := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return Scrape{}, fmt.Errorf("scraping %s: %w", s.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Scrape{}, fmt.Errorf("scraping %s: %s", s.URL, resp.Status)
	}
	sc, err := ParseMetrics(resp.Body, at)
	if err != nil {
		return Scrape{}, fmt.Errorf("scraping %s: %w", s.URL, err)
	}
	return sc, nil
}

// ParseMetrics parses the Prometheus text format; a malformed line fails
// the whole scrape.
func ParseMetrics(r io.Reader, at time.Time) (Scrape, error) {
	fams, err := promtext.Parse(r)
	if err != nil {
		return Scrape{}, fmt.Errorf("parsing metrics: %w", err)
	}
	return Scrape{At: at, Families: fams}, nil
}

// Histogram is a cumulative Prometheus histogram: Counts[i] observations
// were <= Bounds[i]; the +Inf bucket is Count.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// Sub returns the observations h has beyond prev (the interval between two
// scrapes). A counter reset (h holding fewer observations than prev, as
// after a restart) or a change of buckets returns h unchanged.
func (h Histogram) Sub(prev Histogram) Histogram {
	if h.Count < prev.Count || len(h.Bounds) != len(prev.Bounds) {
		return h
	}
	out := Histogram{Bounds: h.Bounds, Counts: make([]uint64, len(h.Counts)), Count: h.Count - prev.Count, Sum: h.Sum - prev.Sum}
	for i := range h.Counts {
		if h.Bounds[i] != prev.Bounds[i] || h.Counts[i] < prev.Counts[i] {
			return h
		}
		out.Counts[i] = h.Counts[i] - prev.Counts[i]
	}
	return out
}

// Quantile estimates the q-quantile as Prometheus's histogram_quantile
// does: linear interpolation inside the bucket holding the rank, the lowest
// bucket starting at 0, and the highest finite bound when the rank falls in
// the +Inf bucket. It returns NaN for an empty histogram.
func (h Histogram) Quantile(q float64) float64 {
	if h.Count == 0 || q < 0 || q > 1 {
		return math.NaN()
	}
	rank := q * float64(h.Count)
	var prevCount uint64
	prevBound := 0.0
	for i, b := range h.Bounds {
		c := h.Counts[i]
		if float64(c) >= rank && c > prevCount {
			if i == 0 && b <= 0 {
				return b
			}
			return prevBound + (b-prevBound)*(rank-float64(prevCount))/float64(c-prevCount)
		}
		prevCount, prevBound = c, b
	}
	if len(h.Bounds) == 0 {
		return math.NaN()
	}
	return h.Bounds[len(h.Bounds)-1]
}

// Histograms returns the histogram series of family name by label key
// (see LabelKey). Missing families give an empty map.
func (s Scrape) Histograms(name string) map[string]Histogram {
	out := map[string]Histogram{}
	for _, ph := range s.Families[name].Histograms() {
		h := Histogram{Count: uint64(ph.Count), Sum: ph.Sum}
		for _, b := range ph.Buckets {
			if math.IsInf(b.UpperBound, +1) {
				continue
			}
			h.Bounds = append(h.Bounds, b.UpperBound)
			h.Counts = append(h.Counts, uint64(b.Count))
		}
		out[LabelKey(ph.Labels)] = h
	}
	return out
}

// Values returns the counter, gauge or untyped values of family name by
// label key (none for a histogram or a summary).
func (s Scrape) Values(name string) map[string]float64 {
	out := map[string]float64{}
	f := s.Families[name]
	if f == nil || f.Type == promtext.TypeHistogram || f.Type == promtext.TypeSummary {
		return out
	}
	for _, m := range f.Samples {
		if m.Name == name {
			out[LabelKey(m.Labels)] = m.Value
		}
	}
	return out
}

// Value is the value of an unlabelled counter or gauge, 0 when absent.
func (s Scrape) Value(name string) float64 { return s.Values(name)[""] }

// LabelKey names a series by its labels: "" for none, the value alone for
// one label (a route), and name=value pairs joined by "," in name order
// otherwise.
func LabelKey(labels promtext.Labels) string {
	if len(labels) == 1 {
		return labels[0].Value
	}
	parts := make([]string, 0, len(labels))
	for _, l := range labels {
		parts = append(parts, l.Name+"="+l.Value)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Latency summarises one histogram series over an interval.
type Latency struct {
	Label string  `json:"label"`
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_seconds"`
	P50   float64 `json:"p50_seconds"`
	P99   float64 `json:"p99_seconds"`
	// Max is the upper bound of the highest non-empty bucket (+Inf: the
	// largest finite bound), a ceiling on the slowest observation.
	Max float64 `json:"max_bound_seconds"`
}

// Summarize gives the figures of h under label; an empty histogram gives
// zeros (never NaN, so reports stay valid JSON).
func Summarize(label string, h Histogram) Latency {
	l := Latency{Label: label, Count: h.Count}
	if h.Count == 0 {
		return l
	}
	l.Mean = h.Sum / float64(h.Count)
	l.P50, l.P99 = h.Quantile(0.5), h.Quantile(0.99)
	var prev uint64
	for i, c := range h.Counts {
		if c > prev {
			l.Max = h.Bounds[i]
		}
		prev = c
	}
	if len(h.Bounds) > 0 && h.Count > h.Counts[len(h.Counts)-1] {
		l.Max = h.Bounds[len(h.Bounds)-1]
	}
	return l
}

// HistogramDelta summarises family name over the interval between two
// scrapes, one Latency per label key with observations in it, sorted by
// label.
func HistogramDelta(before, after Scrape, name string) []Latency {
	prev := before.Histograms(name)
	var out []Latency
	for key, h := range after.Histograms(name) {
		d := h.Sub(prev[key])
		if d.Count == 0 {
			continue
		}
		out = append(out, Summarize(key, d))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// CounterDelta is how much each series of counter family name grew between
// two scrapes (a series that went down, as after a restart, counts from 0).
func CounterDelta(before, after Scrape, name string) map[string]float64 {
	prev := before.Values(name)
	out := map[string]float64{}
	for key, v := range after.Values(name) {
		if p := prev[key]; v >= p {
			out[key] = v - p
		} else {
			out[key] = v
		}
	}
	return out
}

// Add returns the sum of two histograms with the same buckets (an empty h
// takes o's buckets); with different buckets it returns h unchanged.
func (h Histogram) Add(o Histogram) Histogram {
	if h.Count == 0 && len(h.Counts) == 0 {
		return Histogram{Bounds: o.Bounds, Counts: append([]uint64(nil), o.Counts...), Count: o.Count, Sum: o.Sum}
	}
	if len(h.Bounds) != len(o.Bounds) {
		return h
	}
	out := Histogram{Bounds: h.Bounds, Counts: make([]uint64, len(h.Counts)), Count: h.Count + o.Count, Sum: h.Sum + o.Sum}
	for i := range h.Counts {
		if h.Bounds[i] != o.Bounds[i] {
			return h
		}
		out.Counts[i] = h.Counts[i] + o.Counts[i]
	}
	return out
}

// HistogramDeltaAll summarises family name over the interval with every
// label merged (e.g. the BBS's p99 across all routes, for a latency-over-
// time series), labelled label.
func HistogramDeltaAll(before, after Scrape, name, label string) Latency {
	prev := before.Histograms(name)
	var sum Histogram
	for key, h := range after.Histograms(name) {
		sum = sum.Add(h.Sub(prev[key]))
	}
	return Summarize(label, sum)
}
