package scalebench

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// Panel is one chart of a plot: its series share the axes.
type Panel struct {
	Title  string
	YLabel string
	Series []Series
}

// Plot is a column of panels sharing the time axis, drawn as SVG.
type Plot struct {
	Title  string
	XLabel string // default "time (s)"
	Width  int    // default 800
	// PanelHeight is each panel's height (default 260).
	PanelHeight int
	Panels      []Panel
}

// palette colours series in order.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// Plot layout, in pixels.
const (
	marginLeft   = 70
	marginRight  = 150 // the legend
	marginTop    = 30
	marginBottom = 45
	titleHeight  = 30
)

// WriteSVG draws p as a standalone SVG document: per panel, axes with
// "nice" ticks (1, 2 or 5 times a power of ten), grid lines, axis labels,
// one polyline per series and a legend. Output depends only on p.
func WriteSVG(w io.Writer, p Plot) error {
	if p.Width <= 0 {
		p.Width = 800
	}
	if p.PanelHeight <= 0 {
		p.PanelHeight = 260
	}
	if p.XLabel == "" {
		p.XLabel = "time (s)"
	}
	height := titleHeight + len(p.Panels)*p.PanelHeight
	xmin, xmax := xRange(p.Panels)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		p.Width, height, p.Width, height)
	fmt.Fprintf(bw, `<rect x="0" y="0" width="%d" height="%d" fill="white"/>`+"\n", p.Width, height)
	fmt.Fprintf(bw, `<text x="%d" y="20" text-anchor="middle" font-size="15" font-weight="bold">%s</text>`+"\n", p.Width/2, esc(p.Title))
	for i, panel := range p.Panels {
		top := titleHeight + i*p.PanelHeight
		drawPanel(bw, panel, p, top, xmin, xmax)
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

// xRange is the time range of every series (0..1 when there are no points).
func xRange(panels []Panel) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, pn := range panels {
		for _, s := range pn.Series {
			for _, pt := range s.Points {
				lo, hi = math.Min(lo, pt.T), math.Max(hi, pt.T)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	return math.Min(lo, 0), hi
}

// drawPanel draws one panel whose box starts at y=top.
func drawPanel(w io.Writer, pn Panel, p Plot, top int, xmin, xmax float64) {
	x0, x1 := float64(marginLeft), float64(p.Width-marginRight)
	y0, y1 := float64(top+p.PanelHeight-marginBottom), float64(top+marginTop)
	ymax := 0.0
	for _, s := range pn.Series {
		for _, pt := range s.Points {
			ymax = math.Max(ymax, pt.V)
		}
	}
	xt, xlo, xhi := ticks(xmin, xmax, 8)
	yt, ylo, yhi := ticks(0, ymax, 5)
	sx := func(v float64) float64 { return x0 + (v-xlo)/(xhi-xlo)*(x1-x0) }
	sy := func(v float64) float64 { return y0 - (v-ylo)/(yhi-ylo)*(y0-y1) }

	fmt.Fprintf(w, `<g class="panel">`+"\n")
	fmt.Fprintf(w, `<text x="%s" y="%d" text-anchor="middle" font-weight="bold">%s</text>`+"\n", num((x0+x1)/2), top+marginTop-10, esc(pn.Title))
	for _, v := range yt {
		y := num(sy(v))
		fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd"/>`+"\n", num(x0), y, num(x1), y)
		fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", num(x0-6), y, label(v))
	}
	for _, v := range xt {
		x := num(sx(v))
		fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd"/>`+"\n", x, num(y1), x, num(y0))
		fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", x, num(y0+16), label(v))
	}
	fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="black"/>`+"\n", num(x0), num(y0), num(x1), num(y0))
	fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="black"/>`+"\n", num(x0), num(y0), num(x0), num(y1))
	fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", num((x0+x1)/2), num(y0+34), esc(p.XLabel))
	cy := (y0 + y1) / 2
	fmt.Fprintf(w, `<text x="16" y="%s" text-anchor="middle" transform="rotate(-90 16 %s)">%s</text>`+"\n", num(cy), num(cy), esc(pn.YLabel))
	for i, s := range pn.Series {
		colour := palette[i%len(palette)]
		if len(s.Points) > 0 {
			pts := make([]string, len(s.Points))
			for j, pt := range s.Points {
				pts[j] = num(sx(pt.T)) + "," + num(sy(pt.V))
			}
			fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", colour, strings.Join(pts, " "))
		}
		ly := y1 + float64(i*18)
		lx := x1 + 12
		fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="3"/>`+"\n", num(lx), num(ly), num(lx+18), num(ly), colour)
		fmt.Fprintf(w, `<text x="%s" y="%s" dominant-baseline="middle">%s</text>`+"\n", num(lx+24), num(ly), esc(s.Name))
	}
	fmt.Fprintf(w, "</g>\n")
}

// ticks chooses about n nice tick values covering [lo, hi] and returns them
// with the axis range they span.
func ticks(lo, hi float64, n int) ([]float64, float64, float64) {
	if hi <= lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / float64(n))
	start := math.Floor(lo/step) * step
	end := math.Ceil(hi/step) * step
	var out []float64
	for i := 0; ; i++ {
		v := start + float64(i)*step
		if v > end+step/2 {
			break
		}
		out = append(out, roundTo(v, step))
	}
	return out, start, end
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	}
	return 10 * p
}

// roundTo removes float noise from a multiple of step.
func roundTo(v, step float64) float64 {
	return math.Round(v/step) * step
}

// num formats a coordinate with one decimal.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// label formats a tick value briefly: 250000 as 250k, 0.05 as 0.05.
func label(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6 && math.Mod(v, 1e5) == 0:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e3 && math.Mod(v, 100) == 0:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func esc(s string) string { return html.EscapeString(s) }
