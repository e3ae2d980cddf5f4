package scalebench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the summary: a figure's name and its value.
type row struct{ name, value string }

// rows lists the report's headline figures in reading order.
func (r *Report) rows() []row {
	var out []row
	add := func(name, format string, args ...any) { out = append(out, row{name, fmt.Sprintf(format, args...)}) }
	add("preset", "%s", r.Preset)
	add("database", "%s", r.Database)
	add("cells / instances / processes", "%s / %s / %s", Thousands(int64(r.Cells)), Thousands(int64(r.Instances)), Thousands(int64(r.Processes)))
	if r.Ramp != nil {
		add("ramp: first desire to all RUNNING", "%ss (all running: %t)", fmtNum(r.Ramp.Seconds), r.Ramp.AllRunning)
		add("ramp: placements/s", "%s", fmtNum(r.Ramp.PlacementsPerSecond))
	}
	for _, c := range r.Components {
		add(c.Name+": RSS / peak / CPU", "%s / %s / %ss", mib(c.RSSBytes), mib(c.PeakRSSBytes), fmtNum(c.CPUSeconds))
	}
	add("database size", "%s", mib(r.DBBytes))
	if c := r.Convergence; c != nil {
		add("convergence pass p50 / p99", "%s / %s (%d passes)", secs(c.P50), secs(c.P99), c.Count)
	}
	if l := r.EventLag; l != nil {
		add("event lag p50 / p99 / max", "%s / %s / %s (%d subscribers, %s events)", l.P50, l.P99, l.Max, l.Subscribers, Thousands(int64(l.Events)))
	}
	if c := r.CellLoss; c != nil {
		add("cell lost: instances RUNNING elsewhere", "%ss (%d instances)", fmtNum(c.Seconds), c.Instances)
	}
	if d := r.Drain; d != nil {
		add("rolling drain", "%ss for %d cells (below desired: %t, %d dips in %d processes)", fmtNum(d.Seconds), d.Cells, d.BelowDesired, d.Dips, d.DippedProcesses)
	}
	if f := r.Failover; f != nil {
		add("failover: standby serves / cells synced", "%ss / %ss (%d cells; all RUNNING at %ss)", fmtNum(f.ServingSeconds), fmtNum(f.SyncedSeconds), f.Cells, fmtNum(f.RunningSeconds))
	}
	if f := r.Final; f != nil {
		add("final: desired / running / missing / duplicated", "%d / %d / %d / %d", f.Desired, f.Running, f.Missing, f.Duplicated)
	}
	m := r.Machine
	add("machine", "%d cores (%s), %s memory, Linux %s, %s", m.Cores, m.CPU, mib(m.MemoryBytes), m.Kernel, m.GoVersion)
	if r.LocketEmbedded {
		add("locket", "embedded in the BBS (locket_listen_address): its figures are the BBS's")
	}
	if r.ConvergenceInterval != 0 {
		add("convergence interval", "%s (the BBS's default: 30s)", r.ConvergenceInterval)
	}
	if r.CellPresenceTTL != 0 {
		add("cells' presence TTL", "%s (the rep's default: 15s)", r.CellPresenceTTL)
	}
	if r.BBSMemoryLimitMB != 0 {
		add("BBS memory limit (memory_limit_mb)", "%d MiB", r.BBSMemoryLimitMB)
	}
	if r.ControlNice != 0 {
		add("control plane niceness", "%d (the simulated cells: 0)", r.ControlNice)
	}
	return out
}

// WriteText writes the report as aligned plain-text tables.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, rw := range r.rows() {
		fmt.Fprintf(tw, "%s\t%s\n", rw.name, rw.value)
	}
	for _, phase := range []struct {
		name string
		l    []Latency
	}{{"ramp", r.LatencyRamp}, {"steady", r.LatencySteady}} {
		if len(phase.l) == 0 {
			continue
		}
		fmt.Fprintf(tw, "\nBBS latency (%s)\tcount\tp50\tp99\n", phase.name)
		for _, l := range phase.l {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", l.Label, l.Count, secs(l.P50), secs(l.P99))
		}
	}
	if len(r.Checks) > 0 {
		fmt.Fprintf(tw, "\ncheck\ttarget\tgot\tresult\n")
		for _, c := range r.Checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Target, c.Got, passWord(c.Pass))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// WriteMarkdown writes the report as a fragment for docs/scale.md: a
// heading, the figures, the latency tables and the checks. plot, when not
// empty, is the path of the SVG to embed.
func (r *Report) WriteMarkdown(w io.Writer, plot string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s, %s (%s)\n\n", r.Preset, r.Database, r.Started.UTC().Format("2006-01-02"))
	b.WriteString("| figure | value |\n|---|---|\n")
	for _, rw := range r.rows() {
		fmt.Fprintf(&b, "| %s | %s |\n", mdCell(rw.name), mdCell(rw.value))
	}
	for _, phase := range []struct {
		name string
		l    []Latency
	}{{"ramp", r.LatencyRamp}, {"steady state", r.LatencySteady}} {
		if len(phase.l) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nBBS request latency, %s:\n\n| route | requests | p50 | p99 |\n|---|---:|---:|---:|\n", phase.name)
		for _, l := range phase.l {
			fmt.Fprintf(&b, "| `%s` | %d | %s | %s |\n", l.Label, l.Count, secs(l.P50), secs(l.P99))
		}
	}
	if len(r.Checks) > 0 {
		b.WriteString("\n| target | wanted | got | |\n|---|---|---|---|\n")
		for _, c := range r.Checks {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(c.Name), mdCell(c.Target), mdCell(c.Got), passWord(c.Pass))
		}
	}
	if plot != "" {
		fmt.Fprintf(&b, "\n![instances RUNNING and BBS p99 latency over time](%s)\n", plot)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

func passWord(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

// mdCell escapes the characters that would break a table cell.
func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// mib formats bytes as MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// secs formats seconds as a rounded duration ("1.2ms", "850µs").
func secs(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
