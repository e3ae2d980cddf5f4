package promtext

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const exposition = `# HELP http_requests_total Requests by route\nand code \\ all.
# TYPE http_requests_total counter
http_requests_total{route="/a",code="200"} 10
http_requests_total{code="500", route="/a\"b\\c\nd",} 2 1700000000000
# a comment
# TYPE temperature gauge
temperature -3.5
# TYPE latency_seconds histogram
latency_seconds_bucket{route="/a",le="0.1"} 3
latency_seconds_bucket{route="/a",le="+Inf"} 5
latency_seconds_bucket{route="/a",le="1"} 4
latency_seconds_sum{route="/a"} 2.5
latency_seconds_count{route="/a"} 5
latency_seconds_bucket{route="/b",le="0.1"} 0
latency_seconds_bucket{route="/b",le="1"} 1
latency_seconds_bucket{route="/b",le="+Inf"} 1
latency_seconds_sum{route="/b"} 0.5
latency_seconds_count{route="/b"} 1
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.01
rpc_seconds{quantile="0.99"} NaN
rpc_seconds_sum 1
rpc_seconds_count 40
plain_bucket{le="x"} +Inf
`

func TestParseAWellFormedExposition(t *testing.T) {
	fams, err := Parse(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	if len(fams) != 5 {
		t.Errorf("families %v, want 5", keys(fams))
	}
	req := fams["http_requests_total"]
	if req == nil || req.Type != TypeCounter || req.Help != "Requests by route\nand code \\ all." || len(req.Samples) != 2 {
		t.Fatalf("http_requests_total = %+v", req)
	}
	want := Sample{Name: "http_requests_total", Labels: Labels{{"code", "500"}, {"route", "/a\"b\\c\nd"}}, Value: 2, Timestamp: 1700000000000}
	if !reflect.DeepEqual(req.Samples[1], want) {
		t.Errorf("escaped sample = %+v, want %+v", req.Samples[1], want)
	}
	if got := req.Samples[0].Labels.String(); got != `{code="200",route="/a"}` {
		t.Errorf("labels sorted: %s", got)
	}
	if got := req.Samples[1].Labels.String(); got != `{code="500",route="/a\"b\\c\nd"}` {
		t.Errorf("labels escaped again: %s", got)
	}
	if f := fams["temperature"]; f.Type != TypeGauge || f.Samples[0].Value != -3.5 || f.Samples[0].Labels != nil {
		t.Errorf("temperature = %+v", f)
	}
	hs := fams["latency_seconds"].Histograms()
	wantH := []Histogram{
		{Labels: Labels{{"route", "/a"}}, Buckets: []Bucket{{0.1, 3}, {1, 4}, {math.Inf(1), 5}}, Count: 5, Sum: 2.5},
		{Labels: Labels{{"route", "/b"}}, Buckets: []Bucket{{0.1, 0}, {1, 1}, {math.Inf(1), 1}}, Count: 1, Sum: 0.5},
	}
	if !reflect.DeepEqual(hs, wantH) {
		t.Errorf("histograms = %+v, want %+v (buckets by bound)", hs, wantH)
	}
	rpc := fams["rpc_seconds"]
	if rpc.Type != TypeSummary || len(rpc.Samples) != 4 || rpc.Samples[0].Labels.Get("quantile") != "0.5" || !math.IsNaN(rpc.Samples[1].Value) {
		t.Errorf("rpc_seconds = %+v", rpc)
	}
	if rpc.Histograms() != nil || (*Family)(nil).Histograms() != nil {
		t.Error("Histograms of a summary or of no family is not nil")
	}
	// without # TYPE a _bucket line is a family of its own, le unchecked
	if f := fams["plain_bucket"]; f == nil || f.Type != TypeUntyped || !math.IsInf(f.Samples[0].Value, 1) {
		t.Errorf("plain_bucket = %+v", f)
	}
}

func TestLabels(t *testing.T) {
	ls := Labels{{"a", "1"}, {"le", "0.5"}}
	if v, ok := ls.Lookup("le"); !ok || v != "0.5" {
		t.Errorf("Lookup(le) = %q %v", v, ok)
	}
	if _, ok := ls.Lookup("b"); ok || ls.Get("b") != "" {
		t.Error("Lookup of an absent label found one")
	}
	if w := ls.Without("le"); !reflect.DeepEqual(w, Labels{{"a", "1"}}) || len(ls) != 2 {
		t.Errorf("Without(le) = %v (and ls %v)", w, ls)
	}
	if Labels(nil).String() != "" {
		t.Error("no labels print as something")
	}
}

// TestMalformedInput: each bad line is a *SyntaxError naming the line and
// why; the well-formed lines around it are still read.
func TestMalformedInput(t *testing.T) {
	for _, c := range []struct{ line, reason string }{
		{`bbs_lrps{kind="x" 3`, `invalid character '3' after label kind (want ',' or '}')`},
		{`bbs_lrps{kind="x"`, `the labels have no closing '}'`},
		{`bbs_lrps{kind="x} 3`, `label kind: the value has no closing quote`},
		{`bbs_lrps{kind=x} 3`, `label kind: the value is not in "quotes"`},
		{`bbs_lrps{kind} 3`, `label kind has no '='`},
		{`bbs_lrps{kind="a",kind="b"} 3`, `label kind given twice`},
		{`bbs_lrps{kind="\t"} 3`, `label kind: invalid escape \t in the value`},
		{`bbs_lrps{9="a"} 3`, `invalid character '9' where a label name should be`},
		{`bbs_lrps`, `no value`},
		{`bbs_lrps abc`, `the value "abc" is not a number`},
		{`bbs_lrps 1 2.5`, `the timestamp "2.5" is not an integer`},
		{`bbs_lrps 1 2 3`, `more than a value and a timestamp`},
		{`bbs-lrps 1`, `invalid character '-' in the metric name`},
		{`{kind="x"} 1`, `no metric name`},
		{`# TYPE bbs_lrps meter`, `unknown metric type "meter"`},
		{`# TYPE bbs_lrps`, `# TYPE wants a name and a type`},
		{`# TYPE 1bbs gauge`, `# TYPE of an invalid metric name`},
		{`# TYPE ok_total counter`, `a second # TYPE for ok_total`},
		{`# TYPE ok_total_count gauge` + "\nok_total_count 1\n# TYPE ok_total_count gauge", `a second # TYPE for ok_total_count`},
		{`h_bucket 1`, `a histogram bucket without an le label`},
		{`h_bucket{le="high"} 1`, `a histogram bucket's le "high" is not a number`},
	} {
		in := "# TYPE ok_total counter\n# TYPE h histogram\nok_total 1\n" + c.line + "\nafter 2\n"
		fams, err := Parse(strings.NewReader(in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: err = %v, want a *SyntaxError", c.line, err)
			continue
		}
		if se.Line != 4 && !strings.HasPrefix(c.line, "# TYPE ok_total_count") || se.Reason != c.reason || se.Count != 1 {
			t.Errorf("%s: %+v, want line 4, once: %s", c.line, se, c.reason)
		}
		if fams["ok_total"] == nil || fams["after"] == nil || fams["after"].Samples[0].Value != 2 {
			t.Errorf("%s: the well-formed lines were not kept: %v", c.line, keys(fams))
		}
	}
}

func TestSyntaxErrorCountsAndTrims(t *testing.T) {
	long := "x{a=\"" + strings.Repeat("y", 200)
	_, err := Parse(strings.NewReader("good 1\nbroken line\nalso broken\n" + long + "\n"))
	want := `prometheus text format: line 2: the value "line" is not a number: "broken line" (and 2 more malformed lines)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	var se *SyntaxError
	if errors.As(err, &se); se == nil || se.Count != 3 {
		t.Errorf("SyntaxError %+v, want 3 lines", se)
	}
	se = nil
	_, err = Parse(strings.NewReader(long + "\n"))
	if errors.As(err, &se); se == nil || len(se.Text) != 80 {
		t.Errorf("a long line's text is not cut to 80 bytes: %+v", se)
	}
}

func TestEmptyAndTooLong(t *testing.T) {
	fams, err := Parse(strings.NewReader(""))
	if err != nil || fams == nil || len(fams) != 0 {
		t.Errorf("empty input: %v %v, want no families and no error", fams, err)
	}
	fams, err = Parse(strings.NewReader("a 1\nb{x=\"" + strings.Repeat("y", MaxLine) + "\"} 1\n"))
	if err == nil || !strings.Contains(err.Error(), "reading metrics after line 1") || fams["a"] == nil {
		t.Errorf("a line over MaxLine: %v %v, want an error and line 1 kept", keys(fams), err)
	}
}

// TestReadsClientGolang parses what the Prometheus Go client serves.
func TestReadsClientGolang(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs \"done\" \\ by kind\nsecond line."}, []string{"kind"})
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "job_seconds", Help: "h", Buckets: []float64{0.5, 2}}, []string{"kind"})
	s := prometheus.NewSummary(prometheus.SummaryOpts{Name: "pass_seconds", Help: "s", Objectives: map[float64]float64{0.5: 0.05}})
	reg.MustRegister(c, h, s, prometheus.NewGoCollector())
	c.WithLabelValues(`a "b"`).Add(3)
	h.WithLabelValues("x").Observe(1)
	h.WithLabelValues("x").Observe(3)
	s.Observe(0.25)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	fams, err := Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if f := fams["jobs_total"]; f.Type != TypeCounter || f.Help != "Jobs \"done\" \\ by kind\nsecond line." || f.Samples[0].Labels.Get("kind") != `a "b"` || f.Samples[0].Value != 3 {
		t.Errorf("jobs_total = %+v", f)
	}
	want := []Histogram{{Labels: Labels{{"kind", "x"}}, Buckets: []Bucket{{0.5, 0}, {2, 1}, {math.Inf(1), 2}}, Count: 2, Sum: 4}}
	if got := fams["job_seconds"].Histograms(); !reflect.DeepEqual(got, want) {
		t.Errorf("job_seconds = %+v, want %+v", got, want)
	}
	if f := fams["pass_seconds"]; f.Type != TypeSummary || f.Samples[0].Labels.Get("quantile") != "0.5" || f.Samples[0].Value != 0.25 {
		t.Errorf("pass_seconds = %+v", f)
	}
	if f := fams["go_goroutines"]; f == nil || f.Type != TypeGauge || f.Samples[0].Value < 1 {
		t.Errorf("go_goroutines = %+v", f)
	}
}

func keys(fams Families) []string {
	var out []string
	for k := range fams {
		out = append(out, k)
	}
	return out
}
