package scalebench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/golden"
)

// TestScripts runs testdata/*.txt: plots, progress output and reports.
func TestScripts(t *testing.T) {
	cmds := golden.Commands{
		"plot":     func(b *golden.Block) ([]string, error) { return plotCmd(b.Input) },
		"progress": progressCmd,
		"report":   reportCmd,
	}
	// Commands take arguments, so dispatch on the first word.
	golden.Run(t, "testdata/*.txt", func() func(b *golden.Block) ([]string, error) {
		return func(b *golden.Block) ([]string, error) {
			word, _, _ := strings.Cut(b.Cmd, " ")
			run, ok := cmds[word]
			if !ok {
				return nil, fmt.Errorf("unknown command %q", b.Cmd)
			}
			return run(b)
		}
	})
}

// parsePlot reads a plot script: "title T", "panel TITLE|YLABEL" and
// "series NAME|t:v t:v ..." lines.
func parsePlot(lines []string) (Plot, error) {
	var p Plot
	for _, l := range lines {
		word, rest, _ := strings.Cut(l, " ")
		switch word {
		case "title":
			p.Title = rest
		case "panel":
			title, ylabel, _ := strings.Cut(rest, "|")
			p.Panels = append(p.Panels, Panel{Title: title, YLabel: ylabel})
		case "series":
			if len(p.Panels) == 0 {
				return p, errors.New("series before panel")
			}
			name, pts, _ := strings.Cut(rest, "|")
			s := Series{Name: name}
			for _, f := range strings.Fields(pts) {
				ts, vs, _ := strings.Cut(f, ":")
				tv, err1 := strconv.ParseFloat(ts, 64)
				vv, err2 := strconv.ParseFloat(vs, 64)
				if err := errors.Join(err1, err2); err != nil {
					return p, err
				}
				s.Points = append(s.Points, Point{T: tv, V: vv})
			}
			pn := &p.Panels[len(p.Panels)-1]
			pn.Series = append(pn.Series, s)
		default:
			return p, fmt.Errorf("unknown plot line %q", l)
		}
	}
	return p, nil
}

func plotCmd(input []string) ([]string, error) {
	p, err := parsePlot(input)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := WriteSVG(&b, p); err != nil {
		return nil, err
	}
	if err := wellFormed(b.Bytes()); err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n"), nil
}

// wellFormed decodes every XML token of doc and checks the root is <svg>.
func wellFormed(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("svg is not well-formed XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
			if se.Name.Space != "http://www.w3.org/2000/svg" {
				return fmt.Errorf("root namespace %q", se.Name.Space)
			}
		}
	}
	if root != "svg" {
		return fmt.Errorf("root element %q, want svg", root)
	}
	return nil
}

func TestSVGIsWellFormedWithAwkwardNames(t *testing.T) {
	var b bytes.Buffer
	err := WriteSVG(&b, Plot{Title: `a <b> & "c"`, Panels: []Panel{
		{Title: "empty"},
		{Title: "p99 <1s>", YLabel: "s & ms", Series: []Series{{Name: "<&>", Points: []Point{{T: 0, V: 0}}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wellFormed(b.Bytes()); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
}

// fakeClock is a settable clock for Progress.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// progressCmd: "progress tty|log total" then "SECONDS DONE [NOTE]" and
// "done SECONDS DONE" lines; prints each write quoted.
func progressCmd(b *golden.Block) ([]string, error) {
	f := strings.Fields(b.Cmd)
	if len(f) != 3 {
		return nil, errors.New("want: progress tty|log TOTAL")
	}
	total, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return nil, err
	}
	clock := &fakeClock{t: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	start := clock.t
	var w writes
	p := NewProgress(&w, "instances RUNNING", total, ProgressConfig{TTY: f[1] == "tty", Width: 20, Now: clock.now})
	for _, l := range b.Input {
		fs := strings.Fields(l)
		final := len(fs) > 0 && fs[0] == "done"
		if final {
			fs = fs[1:]
		}
		if len(fs) < 2 {
			return nil, fmt.Errorf("bad line %q", l)
		}
		sec, err1 := strconv.ParseFloat(fs[0], 64)
		done, err2 := strconv.ParseInt(fs[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		clock.t = start.Add(time.Duration(sec * float64(time.Second)))
		note := strings.Join(fs[2:], " ")
		if final {
			p.Done(done, note)
		} else {
			p.Update(done, note)
		}
	}
	return w, nil
}

// writes records each Write quoted, one per line.
type writes []string

func (w *writes) Write(b []byte) (int, error) {
	*w = append(*w, strconv.Quote(string(b)))
	return len(b), nil
}
