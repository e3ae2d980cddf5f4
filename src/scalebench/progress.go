package scalebench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// ProgressConfig configures a Progress.
type ProgressConfig struct {
	// TTY redraws one bar in place; otherwise a line is printed at most
	// every Every (for CI logs).
	TTY bool
	// Every is the non-TTY line interval (default 10 s).
	Every time.Duration
	// Redraw is the least time between two TTY redraws (default 100 ms).
	Redraw time.Duration
	// Width is the bar's width in characters (default 30).
	Width int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Progress reports a count towards a total: a bar redrawn in place on a
// terminal ("\r"), or one line every Every elsewhere. Safe for concurrent
// use.
type Progress struct {
	w     io.Writer
	cfg   ProgressConfig
	label string
	total int64

	mu       sync.Mutex
	start    time.Time // guarded by mu
	lastLine time.Time // guarded by mu
	drawn    bool      // a TTY bar was drawn at lastLine; guarded by mu
}

// NewProgress starts reporting label's progress towards total on w.
func NewProgress(w io.Writer, label string, total int64, cfg ProgressConfig) *Progress {
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.Redraw <= 0 {
		cfg.Redraw = 100 * time.Millisecond
	}
	if cfg.Width <= 0 {
		cfg.Width = 30
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	now := cfg.Now()
	return &Progress{w: w, cfg: cfg, label: label, total: total, start: now, lastLine: now}
}

// Update reports done of the total, with an optional note (e.g. the phase).
// A terminal is redrawn when Redraw has passed since the last drawing;
// other writers get a line only when Every has passed since the last one.
func (p *Progress) Update(done int64, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	if p.cfg.TTY {
		if p.drawn && now.Sub(p.lastLine) < p.cfg.Redraw {
			return
		}
		p.drawn, p.lastLine = true, now
		fmt.Fprintf(p.w, "\r\x1b[K%s", p.line(done, note, now))
		return
	}
	if now.Sub(p.lastLine) < p.cfg.Every {
		return
	}
	p.lastLine = now
	fmt.Fprintln(p.w, p.line(done, note, now))
}

// Done prints the final state on a line of its own.
func (p *Progress) Done(done int64, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	if p.cfg.TTY {
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", p.line(done, note, now))
		return
	}
	p.lastLine = now
	fmt.Fprintln(p.w, p.line(done, note, now))
}

// line renders "label [#####-----]  45.0%  112,500/250,000  1m02s  note".
func (p *Progress) line(done int64, note string, now time.Time) string {
	frac := 0.0
	if p.total > 0 {
		frac = min(max(float64(done)/float64(p.total), 0), 1)
	}
	var b strings.Builder
	b.WriteString(p.label)
	if p.cfg.TTY {
		filled := int(frac * float64(p.cfg.Width))
		b.WriteString(" [" + strings.Repeat("#", filled) + strings.Repeat("-", p.cfg.Width-filled) + "]")
	}
	fmt.Fprintf(&b, " %5.1f%% %s/%s %s", frac*100, Thousands(done), Thousands(p.total), now.Sub(p.start).Truncate(time.Second))
	if note != "" {
		b.WriteString("  " + note)
	}
	return b.String()
}

// Thousands formats n with "," between groups of three digits.
func Thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
