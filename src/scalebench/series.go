package scalebench

import (
	"sort"
	"sync"
	"time"
)

// Point is one value of a series, T seconds after the recorder's start.
type Point struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// Series is a named time series.
type Series struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// Last is the most recent value (0 for an empty series).
func (s Series) Last() float64 {
	if len(s.Points) == 0 {
		return 0
	}
	return s.Points[len(s.Points)-1].V
}

// Max is the largest value (0 for an empty series).
func (s Series) Max() float64 {
	m := 0.0
	for i, p := range s.Points {
		if i == 0 || p.V > m {
			m = p.V
		}
	}
	return m
}

// Recorder collects time series relative to a start time; it is safe for
// concurrent use.
type Recorder struct {
	start time.Time

	mu     sync.Mutex
	series map[string]*Series // guarded by mu
}

// NewRecorder starts recording at start.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{start: start, series: map[string]*Series{}}
}

// Start is the time the recorder measures from.
func (r *Recorder) Start() time.Time { return r.start }

// Add appends (t, v) to series name, creating it.
func (r *Recorder) Add(name string, t time.Time, v float64) {
	r.AddAt(name, t.Sub(r.start).Seconds(), v)
}

// AddAt appends a point at sec seconds after the start.
func (r *Recorder) AddAt(name string, sec, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.series[name]
	if s == nil {
		s = &Series{Name: name}
		r.series[name] = s
	}
	s.Points = append(s.Points, Point{T: sec, V: v})
}

// Series returns a copy of series name (empty if never added to).
func (r *Recorder) Series(name string) Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.series[name]
	if s == nil {
		return Series{Name: name}
	}
	return Series{Name: name, Points: append([]Point(nil), s.Points...)}
}

// All returns copies of every series, sorted by name.
func (r *Recorder) All() []Series {
	r.mu.Lock()
	names := make([]string, 0, len(r.series))
	for n := range r.series {
		names = append(names, n)
	}
	r.mu.Unlock()
	sort.Strings(names)
	out := make([]Series, 0, len(names))
	for _, n := range names {
		out = append(out, r.Series(n))
	}
	return out
}
