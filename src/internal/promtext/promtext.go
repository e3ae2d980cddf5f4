// Package promtext reads the Prometheus text exposition format (0.0.4) into
// metric families of labelled samples, with histograms grouped into series
// of buckets.
package promtext

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Type is a metric family's type, as its # TYPE line names it.
type Type string

// The types of the text format; a family without a # TYPE line is untyped.
const (
	TypeCounter   Type = "counter"
	TypeGauge     Type = "gauge"
	TypeHistogram Type = "histogram"
	TypeSummary   Type = "summary"
	TypeUntyped   Type = "untyped"
)

// Label is one name="value" pair of a sample.
type Label struct {
	Name, Value string
}

// Labels are a sample's labels, sorted by name, each name once.
type Labels []Label

// Get is the value of label name, "" when the sample has none.
func (ls Labels) Get(name string) string {
	v, _ := ls.Lookup(name)
	return v
}

// Lookup is the value of label name and whether the sample has it.
func (ls Labels) Lookup(name string) (string, bool) {
	for _, l := range ls {
		if l.Name == name {
			return l.Value, true
		}
	}
	return "", false
}

// Without returns ls less label name (ls itself when it has none).
func (ls Labels) Without(name string) Labels {
	if _, ok := ls.Lookup(name); !ok {
		return ls
	}
	out := make(Labels, 0, len(ls)-1)
	for _, l := range ls {
		if l.Name != name {
			out = append(out, l)
		}
	}
	return out
}

// String is ls as the format writes it, e.g. {method="get",route="/a"};
// "" for no labels. Equal label sets give equal strings.
func (ls Labels) String() string {
	if len(ls) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(l.Value))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// Sample is one line of values: NAME{LABELS} VALUE [TIMESTAMP].
type Sample struct {
	// Name is the line's own name: a histogram's family "x" has samples
	// x_bucket, x_sum and x_count.
	Name   string
	Labels Labels
	Value  float64
	// Timestamp is in milliseconds since the epoch, 0 when the line has none.
	Timestamp int64
}

// Family is the samples of one metric, in the order they were read.
type Family struct {
	Name    string
	Type    Type
	Help    string
	Samples []Sample
}

// Families are an exposition's metric families by name.
type Families map[string]*Family

// Bucket is a histogram bucket: Count observations were <= UpperBound.
type Bucket struct {
	UpperBound float64
	Count      float64
}

// Histogram is one series of a histogram family: its buckets (cumulative,
// by upper bound, +Inf last when the exposition has it), count and sum.
type Histogram struct {
	// Labels are the series' own, without le.
	Labels  Labels
	Buckets []Bucket
	Count   float64
	Sum     float64
}

// Histograms returns the series of a histogram family in the order they
// first appear; nil for a family of another type (or a nil family).
func (f *Family) Histograms() []Histogram {
	if f == nil || f.Type != TypeHistogram {
		return nil
	}
	var out []Histogram
	index := map[string]int{}
	for _, s := range f.Samples {
		suffix := strings.TrimPrefix(s.Name, f.Name)
		ls := s.Labels
		if suffix == "_bucket" {
			ls = ls.Without("le")
		}
		key := ls.String()
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Histogram{Labels: ls})
		}
		h := &out[i]
		switch suffix {
		case "_bucket":
			le, _ := strconv.ParseFloat(s.Labels.Get("le"), 64) // checked by Parse
			h.Buckets = append(h.Buckets, Bucket{UpperBound: le, Count: s.Value})
		case "_sum":
			h.Sum = s.Value
		case "_count":
			h.Count = s.Value
		}
	}
	for i := range out {
		b := out[i].Buckets
		sort.SliceStable(b, func(x, y int) bool { return b[x].UpperBound < b[y].UpperBound })
	}
	return out
}

// SyntaxError reports the malformed lines of an exposition: the first one
// and how many there were in all.
type SyntaxError struct {
	// Line is the first malformed line's number (from 1) and Text its
	// content (cut to 80 bytes).
	Line int
	Text string
	// Reason says what is wrong with it.
	Reason string
	// Count is the number of malformed lines.
	Count int
}

func (e *SyntaxError) Error() string {
	msg := fmt.Sprintf("prometheus text format: line %d: %s: %q", e.Line, e.Reason, e.Text)
	if e.Count > 1 {
		msg += fmt.Sprintf(" (and %d more malformed lines)", e.Count-1)
	}
	return msg
}

// MaxLine is the longest line Parse reads.
const MaxLine = 1 << 20

// Parse reads an exposition. It returns every well-formed sample and
// comment line whatever else the input holds: a reader that tolerates a
// bad line may use the families and ignore the error. The error is a
// *SyntaxError when lines were malformed (a reader's error is joined to
// it); the families are never nil.
func Parse(r io.Reader) (Families, error) {
	p := &parser{fams: Families{}, typed: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), MaxLine)
	for sc.Scan() {
		p.n++
		if err := p.line(strings.TrimSpace(sc.Text())); err != nil {
			p.fail(sc.Text(), err)
		}
	}
	var err error
	if p.err != nil {
		err = p.err
	}
	if rerr := sc.Err(); rerr != nil {
		err = errors.Join(err, fmt.Errorf("reading metrics after line %d: %w", p.n, rerr))
	}
	return p.fams, err
}

type parser struct {
	fams  Families
	typed map[string]bool // families with a # TYPE line
	n     int             // the line number
	err   *SyntaxError
}

func (p *parser) fail(text string, err error) {
	if p.err == nil {
		if len(text) > 80 {
			text = text[:80]
		}
		p.err = &SyntaxError{Line: p.n, Text: text, Reason: err.Error()}
	}
	p.err.Count++
}

func (p *parser) line(line string) error {
	switch {
	case line == "":
		return nil
	case line[0] == '#':
		return p.comment(line)
	default:
		s, err := parseSample(line)
		if err != nil {
			return err
		}
		return p.add(s)
	}
}

// comment handles # HELP and # TYPE lines; any other comment is skipped.
func (p *parser) comment(line string) error {
	fields := strings.Fields(line[1:])
	if len(fields) < 2 || (fields[0] != "HELP" && fields[0] != "TYPE") {
		return nil
	}
	kind, name := fields[0], fields[1]
	if !validName(name, true) {
		return fmt.Errorf("# %s of an invalid metric name", kind)
	}
	f := p.fams[name]
	if kind == "HELP" {
		rest := strings.TrimSpace(line[1:])
		rest = strings.TrimSpace(strings.TrimPrefix(rest, "HELP"))
		rest = strings.TrimSpace(strings.TrimPrefix(rest, name))
		if f == nil {
			f = p.family(name, TypeUntyped)
		}
		f.Help = helpUnescaper.Replace(rest)
		return nil
	}
	if len(fields) != 3 {
		return errors.New("# TYPE wants a name and a type")
	}
	t := Type(fields[2])
	switch t {
	case TypeCounter, TypeGauge, TypeHistogram, TypeSummary, TypeUntyped:
	default:
		return fmt.Errorf("unknown metric type %q", fields[2])
	}
	switch {
	case p.typed[name]:
		return fmt.Errorf("a second # TYPE for %s", name)
	case f != nil && len(f.Samples) > 0:
		return fmt.Errorf("# TYPE for %s after its samples", name)
	case f == nil:
		f = p.family(name, t)
	}
	f.Type = t
	p.typed[name] = true
	return nil
}

var helpUnescaper = strings.NewReplacer(`\\`, `\`, `\n`, "\n")

func (p *parser) family(name string, t Type) *Family {
	f := &Family{Name: name, Type: t}
	p.fams[name] = f
	return f
}

// add files s under its family: its own name's, or a histogram's or a
// summary's it is the _bucket, _sum or _count of; else a new untyped one.
func (p *parser) add(s Sample) error {
	f := p.fams[s.Name]
	if f == nil {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base, ok := strings.CutSuffix(s.Name, suffix)
			if !ok {
				continue
			}
			if g := p.fams[base]; g != nil && (g.Type == TypeHistogram || g.Type == TypeSummary && suffix != "_bucket") {
				f = g
			}
		}
	}
	if f == nil {
		f = p.family(s.Name, TypeUntyped)
	}
	if f.Type == TypeHistogram && s.Name == f.Name+"_bucket" {
		le, ok := s.Labels.Lookup("le")
		if !ok {
			return errors.New("a histogram bucket without an le label")
		}
		if _, err := strconv.ParseFloat(le, 64); err != nil {
			return fmt.Errorf("a histogram bucket's le %q is not a number", le)
		}
	}
	f.Samples = append(f.Samples, s)
	return nil
}
