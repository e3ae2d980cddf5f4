package scalerun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/scalebench"
)

// Output file names under Config.Out.
const (
	ReportJSON     = "report.json"
	ReportMarkdown = "report.md"
	PlotSVG        = "plot.svg"
)

type indexKey struct {
	process string
	index   int32
}

// final lists every desired and actual LRP and counts exactly: each
// desired index must have one RUNNING instance and nothing else.
func (r *run) final(ctx context.Context, rep *scalebench.Report) error {
	r.phase("counting every instance")
	infos, err := r.ctl.client.DesiredLRPSchedulingInfos(r.log, "", models.DesiredLRPFilter{Domain: Domain})
	if err != nil {
		return fmt.Errorf("listing desired LRPs: %w", err)
	}
	desired := map[string]int{}
	f := &scalebench.FinalCounts{}
	for _, s := range infos {
		desired[s.ProcessGuid] = int(s.Instances)
		f.Desired += int(s.Instances)
	}
	lrps, err := r.ctl.client.ActualLRPs(r.log, "", models.ActualLRPFilter{Domain: Domain})
	if err != nil {
		return fmt.Errorf("listing actual LRPs: %w", err)
	}
	per := map[indexKey]int{}
	for _, l := range lrps {
		if l.State == models.ActualLRPStateRunning && l.Presence == models.ActualLRP_Ordinary {
			f.Running++
		}
		if int(l.Index) >= desired[l.ProcessGuid] {
			f.Duplicated++ // an instance beyond what is desired
			continue
		}
		if l.State == models.ActualLRPStateRunning {
			per[indexKey{l.ProcessGuid, l.Index}]++
		}
	}
	for pg, n := range desired {
		for i := range n {
			switch c := per[indexKey{pg, int32(i)}]; {
			case c == 0:
				f.Missing++
			case c > 1:
				f.Duplicated += c - 1
			}
		}
	}
	rep.Final = f
	if f.Desired != r.total || len(infos) != len(r.sizes) {
		return fmt.Errorf("the BBS holds %d desired instances in %d LRPs, want %d in %d", f.Desired, len(infos), r.total, len(r.sizes))
	}
	return nil
}

// costs samples each component's memory and CPU and the database's size.
func (r *run) costs(ctx context.Context, rep *scalebench.Report) {
	for _, p := range r.ctl.procs {
		if p == r.ctl.bbs && !p.running() && r.killedBBS != nil {
			rep.Components = append(rep.Components, *r.killedBBS) // as it was before the failover
			continue
		}
		if s, err := scalebench.SampleProcess(p.cmd.Process.Pid); err == nil {
			rep.Components = append(rep.Components, scalebench.ComponentCost{Name: p.name, ProcSample: s})
		}
	}
	if s, err := scalebench.SampleSelf(); err == nil {
		rep.Components = append(rep.Components, scalebench.ComponentCost{Name: "sim cells (driver)", ProcSample: s})
	}
	if n, err := scalebench.DatabaseSize(ctx, r.cfg.DBDriver, r.cfg.DBDSN); err == nil {
		rep.DBBytes = n
	} else {
		r.cfg.Logger.Warn("database size", "err", err)
	}
}

// checks are the targets.
func checks(rep *scalebench.Report) []scalebench.Check {
	var out []scalebench.Check
	if rep.Ramp != nil {
		out = append(out, scalebench.CheckAtMost("every instance RUNNING after the first desire", rep.Ramp.Seconds, 600, " s"))
	}
	if l := last(rep.LatencyRamp); l != nil {
		out = append(out, scalebench.CheckAtMost("BBS p99 during the ramp (all routes)", l.P99, 1, " s"))
	}
	if l := last(rep.LatencySteady); l != nil {
		c := scalebench.CheckAtMost("BBS p99 at steady state (all routes)", l.P99, 0.1, " s")
		if l.Count == 0 { // nothing measured is no pass
			c.Got, c.Pass = "no requests (make --steady longer than the cells' sync interval)", false
		}
		out = append(out, c)
	}
	if rep.Convergence != nil && rep.Convergence.Count > 0 {
		out = append(out, scalebench.CheckAtMost("convergence pass p99", rep.Convergence.P99, 2, " s"))
	}
	for _, c := range rep.Components {
		if c.Name == "bbs" {
			out = append(out, scalebench.CheckAtMost("BBS peak RSS", float64(c.PeakRSSBytes)/(1<<20), 600, " MiB"))
		}
	}
	if rep.CellLoss != nil {
		out = append(out, scalebench.CheckAtMost("a lost cell's instances RUNNING elsewhere", rep.CellLoss.Seconds, 15, " s"))
	}
	if rep.Drain != nil {
		out = append(out, scalebench.CheckAtMost("falls below desired RUNNING during the drain", float64(rep.Drain.Dips), 0, ""))
	}
	if f := rep.Final; f != nil {
		out = append(out, scalebench.CheckAtMost("instances missing or duplicated at the end", float64(f.Missing+f.Duplicated), 0, ""))
	}
	return out
}

func last(ls []scalebench.Latency) *scalebench.Latency {
	if len(ls) == 0 {
		return nil
	}
	return &ls[len(ls)-1]
}

// writeOutputs writes the JSON report, the plot and the Markdown fragment.
func writeOutputs(dir string, rep *scalebench.Report) error {
	write := func(name string, fill func(*os.File) error) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		if err := fill(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write(ReportJSON, func(f *os.File) error { return rep.WriteJSON(f) }); err != nil {
		return err
	}
	if err := write(PlotSVG, func(f *os.File) error { return scalebench.WriteSVG(f, plotOf(rep)) }); err != nil {
		return err
	}
	return write(ReportMarkdown, func(f *os.File) error { return rep.WriteMarkdown(f, PlotSVG) })
}

// plotOf draws instances RUNNING beside desired, BBS p99 and the
// components' memory over time.
func plotOf(rep *scalebench.Report) scalebench.Plot {
	by := map[string]scalebench.Series{}
	for _, s := range rep.Series {
		by[s.Name] = s
	}
	pick := func(names ...string) []scalebench.Series {
		var out []scalebench.Series
		for _, n := range names {
			if s, ok := by[n]; ok {
				out = append(out, s)
			}
		}
		return out
	}
	return scalebench.Plot{
		Title: fmt.Sprintf("diego bench scale: %s instances on %d cells (%s)", scalebench.Thousands(int64(rep.Instances)), rep.Cells, rep.Database),
		Panels: []scalebench.Panel{
			{Title: "instances RUNNING", YLabel: "instances", Series: pick("desired", "running", "running lrps")},
			{Title: "BBS p99 latency", YLabel: "seconds", Series: pick("bbs p99 s")},
			{Title: "resident memory", YLabel: "MB", Series: pick("bbs rss MB", "auctioneer rss MB", "locket rss MB", "sim cells rss MB")},
		},
	}
}
