package convergence

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/golden"
)

// world is the cluster state a scenario file describes, one line per fact:
//
//	now 1m40s
//	cells cell-a cell-b          (replaces the set; "cells" alone empties it)
//	domains cf-apps              (fresh domains, replaces the set)
//	desired web instances=3 [domain=cf-apps]
//	lrp web/0 [ordinary|suspect|evacuating] STATE [cell=C] [ig=I] [since=T] [crashes=N] [tag=EPOCH:N]
//	    [placement="..."] [domain=D]
//	task t1 STATE [created=T] [updated=T] [first=T] [cell=C] [callback=URL] [failed] [reason="..."]
//	-lrp web/0 suspect | -desired web | -task t1    (deletions, in "change" blocks)
//
// Times are durations since the unix epoch. Defaults: domain cf-apps (or
// the desired LRP's), presence ordinary, ig web-0-CELL, tag e:1, updated =
// created. A row line replaces the row with the same key.
type world struct {
	now     int64
	cells   map[string]struct{}
	domains map[string]struct{}
	desired map[string]*models.DesiredLRPSchedulingInfo
	lrps    map[lrpID]*models.ActualLRP
	tasks   map[string]*models.Task
}

type lrpID struct {
	guid     string
	index    int32
	presence models.ActualLRP_Presence
}

func idOf(l *models.ActualLRP) lrpID { return lrpID{l.ProcessGuid, l.Index, l.Presence} }

const defaultDomain = "cf-apps"

func newWorld() *world {
	return &world{cells: map[string]struct{}{}, domains: map[string]struct{}{},
		desired: map[string]*models.DesiredLRPSchedulingInfo{}, lrps: map[lrpID]*models.ActualLRP{},
		tasks: map[string]*models.Task{}}
}

// snapshot is the world as Decide sees it, in a canonical order.
func (w *world) snapshot() Snapshot {
	s := Snapshot{Now: w.now, Cells: w.cells, Domains: w.domains}
	for _, k := range sortedKeys(w.desired) {
		s.Desired = append(s.Desired, w.desired[k])
	}
	for _, l := range w.sortedLRPs() {
		s.Actual = append(s.Actual, l)
	}
	for _, k := range sortedKeys(w.tasks) {
		s.Tasks = append(s.Tasks, w.tasks[k])
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (w *world) sortedLRPs() []*models.ActualLRP {
	out := make([]*models.ActualLRP, 0, len(w.lrps))
	for _, l := range w.lrps {
		out = append(out, l)
	}
	slices.SortFunc(out, byKey)
	return out
}

// exec applies one line of a world or change block.
func (w *world) exec(line string) error {
	if strings.HasPrefix(line, "#") {
		return nil
	}
	f, err := fields(line)
	if err != nil || len(f) == 0 {
		return err
	}
	switch f[0] {
	case "now":
		if len(f) != 2 {
			return fmt.Errorf("now takes one time")
		}
		w.now, err = parseTime(f[1])
		return err
	case "cells", "domains":
		set := map[string]struct{}{}
		for _, c := range f[1:] {
			set[c] = struct{}{}
		}
		if f[0] == "cells" {
			w.cells = set
		} else {
			w.domains = set
		}
		return nil
	case "desired":
		return w.parseDesired(f[1:])
	case "lrp":
		return w.parseLRP(f[1:])
	case "task":
		return w.parseTask(f[1:])
	case "-desired":
		delete(w.desired, f[1])
		return nil
	case "-task":
		delete(w.tasks, f[1])
		return nil
	case "-lrp":
		return w.deleteLRP(f[1:])
	}
	return fmt.Errorf("unknown line %q", line)
}

func parseTime(s string) (int64, error) {
	d, err := time.ParseDuration(s)
	return int64(d), err
}

func fmtTime(ns int64) string { return time.Duration(ns).String() }

// fields splits a line on spaces, keeping key="quoted value" whole (unquoted).
func fields(line string) ([]string, error) {
	var out []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			end = len(line)
		}
		tok := line[:end]
		if eq := strings.Index(tok, `="`); eq >= 0 {
			q, err := strconv.QuotedPrefix(line[eq+1:])
			if err != nil {
				return nil, fmt.Errorf("bad quoting in %q", line)
			}
			v, _ := strconv.Unquote(q)
			tok, end = line[:eq+1]+v, eq+1+len(q)
		}
		out = append(out, tok)
		line = line[end:]
	}
	return out, nil
}

// kv splits key=value attributes; bare words map to "".
func kv(f []string) map[string]string {
	m := map[string]string{}
	for _, a := range f {
		k, v, _ := strings.Cut(a, "=")
		m[k] = v
	}
	return m
}

func (w *world) parseDesired(f []string) error {
	if len(f) < 1 {
		return fmt.Errorf("desired needs a process guid")
	}
	a := kv(f[1:])
	n, err := strconv.Atoi(a["instances"])
	if err != nil {
		return fmt.Errorf("desired %s: instances: %w", f[0], err)
	}
	d := &models.DesiredLRPSchedulingInfo{Instances: int32(n)}
	d.ProcessGuid, d.Domain = f[0], cmp.Or(a["domain"], defaultDomain)
	w.desired[f[0]] = d
	return nil
}

var presences = map[string]models.ActualLRP_Presence{
	"ordinary": models.ActualLRP_Ordinary, "suspect": models.ActualLRP_Suspect, "evacuating": models.ActualLRP_Evacuating,
}

func presenceName(p models.ActualLRP_Presence) string {
	for k, v := range presences {
		if v == p {
			return k
		}
	}
	return "?"
}

func (w *world) parseLRP(f []string) error {
	if len(f) < 2 {
		return fmt.Errorf("lrp needs guid/index and state")
	}
	guid, idx, err := golden.Instance(f[0])
	if err != nil {
		return err
	}
	f = f[1:]
	p, hasPresence := presences[f[0]]
	if hasPresence {
		f = f[1:]
	}
	l := &models.ActualLRP{State: f[0], Presence: p}
	a := kv(f[1:])
	l.ActualLRPKey = models.NewActualLRPKey(guid, idx, cmp.Or(a["domain"], w.domainOf(guid)))
	if cell := a["cell"]; cell != "" {
		l.ActualLRPInstanceKey = models.NewActualLRPInstanceKey(cmp.Or(a["ig"], defaultIG(guid, idx, cell)), cell)
	}
	if l.Since, err = parseTime(cmp.Or(a["since"], "0s")); err != nil {
		return err
	}
	crashes, _ := strconv.Atoi(cmp.Or(a["crashes"], "0"))
	l.CrashCount = int32(crashes)
	l.PlacementError = a["placement"]
	epoch, n, _ := strings.Cut(cmp.Or(a["tag"], "e:1"), ":")
	tag, err := strconv.Atoi(n)
	if err != nil {
		return fmt.Errorf("bad tag %q", a["tag"])
	}
	l.ModificationTag = models.ModificationTag{Epoch: epoch, Index: uint32(tag)}
	w.lrps[idOf(l)] = l
	return nil
}

func defaultIG(guid string, idx int32, cell string) string {
	return fmt.Sprintf("%s-%d-%s", guid, idx, cell)
}

func (w *world) domainOf(guid string) string {
	if d := w.desired[guid]; d != nil {
		return d.Domain
	}
	return defaultDomain
}

func (w *world) deleteLRP(f []string) error {
	if len(f) != 2 {
		return fmt.Errorf("-lrp needs guid/index and presence")
	}
	guid, idx, err := golden.Instance(f[0])
	if err != nil {
		return err
	}
	delete(w.lrps, lrpID{guid, idx, presences[f[1]]})
	return nil
}

func (w *world) parseTask(f []string) error {
	if len(f) < 2 {
		return fmt.Errorf("task needs guid and state")
	}
	st := -1
	for v, name := range models.Task_State_name {
		if strings.ToUpper(name) == f[1] {
			st = int(v)
		}
	}
	if st < 0 {
		return fmt.Errorf("bad task state %q", f[1])
	}
	t := &models.Task{TaskGuid: f[0], Domain: defaultDomain, State: models.Task_State(st), TaskDefinition: &models.TaskDefinition{}}
	a := kv(f[2:])
	var err error
	for _, at := range []struct {
		key string
		to  *int64
	}{{"created", &t.CreatedAt}, {"updated", &t.UpdatedAt}, {"first", &t.FirstCompletedAt}} {
		if *at.to, err = parseTime(cmp.Or(a[at.key], "0s")); err != nil {
			return err
		}
	}
	if _, set := a["updated"]; !set {
		t.UpdatedAt = t.CreatedAt
	}
	t.CellId, t.CompletionCallbackUrl, t.FailureReason = a["cell"], a["callback"], a["reason"]
	_, t.Failed = a["failed"]
	w.tasks[t.TaskGuid] = t
	return nil
}

// renderLRP is the row in the world's line format, defaults left out.
func (w *world) renderLRP(l *models.ActualLRP) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lrp %s/%d %s %s", l.ProcessGuid, l.Index, presenceName(l.Presence), l.State)
	if l.CellId != "" {
		fmt.Fprintf(&b, " cell=%s", l.CellId)
	}
	if ig := l.InstanceGuid; ig != "" && ig != defaultIG(l.ProcessGuid, l.Index, l.CellId) {
		fmt.Fprintf(&b, " ig=%s", ig)
	}
	fmt.Fprintf(&b, " since=%s", fmtTime(l.Since))
	if l.CrashCount != 0 {
		fmt.Fprintf(&b, " crashes=%d", l.CrashCount)
	}
	fmt.Fprintf(&b, " tag=%s:%d", l.ModificationTag.Epoch, l.ModificationTag.Index)
	if l.PlacementError != "" {
		fmt.Fprintf(&b, " placement=%q", l.PlacementError)
	}
	if l.Domain != w.domainOf(l.ProcessGuid) {
		fmt.Fprintf(&b, " domain=%s", l.Domain)
	}
	return b.String()
}

func renderTask(t *models.Task) string {
	var b strings.Builder
	fmt.Fprintf(&b, "task %s %s created=%s updated=%s", t.TaskGuid, strings.ToUpper(t.State.String()), fmtTime(t.CreatedAt), fmtTime(t.UpdatedAt))
	if t.FirstCompletedAt != 0 {
		fmt.Fprintf(&b, " first=%s", fmtTime(t.FirstCompletedAt))
	}
	if t.CellId != "" {
		fmt.Fprintf(&b, " cell=%s", t.CellId)
	}
	if u := t.GetCompletionCallbackUrl(); u != "" {
		fmt.Fprintf(&b, " callback=%s", u)
	}
	if t.Failed {
		b.WriteString(" failed")
	}
	if t.FailureReason != "" {
		fmt.Fprintf(&b, " reason=%q", t.FailureReason)
	}
	return b.String()
}

// render is the world's rows, one line each.
func (w *world) render() []string {
	var out []string
	for _, l := range w.sortedLRPs() {
		out = append(out, w.renderLRP(l))
	}
	for _, k := range sortedKeys(w.tasks) {
		out = append(out, renderTask(w.tasks[k]))
	}
	return out
}
