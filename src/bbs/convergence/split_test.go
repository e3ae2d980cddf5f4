package convergence

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// checkSplit: deciding the snapshot in two parts, split at a random process
// guid with the tasks in one part, gives the whole's actions, counts and
// missing cells (what the converger relies on to read a large cluster a
// range of process guids at a time).
func checkSplit(w *world, s Snapshot, whole Plan, rng *rand.Rand) error {
	at := fmt.Sprintf("g%d", rng.IntN(6))
	lo, hi := s, s
	lo.Desired, hi.Desired = nil, nil
	lo.Actual, hi.Actual = nil, nil
	for _, d := range s.Desired {
		if d.ProcessGuid < at {
			lo.Desired = append(lo.Desired, d)
		} else {
			hi.Desired = append(hi.Desired, d)
		}
	}
	for _, a := range s.Actual {
		if a.ProcessGuid < at {
			lo.Actual = append(lo.Actual, a)
		} else {
			hi.Actual = append(hi.Actual, a)
		}
	}
	if rng.IntN(2) == 0 {
		lo.Tasks = nil
	} else {
		hi.Tasks = nil
	}
	p, q := Decide(lo, DefaultConfig()), Decide(hi, DefaultConfig())
	merged := Plan{Now: s.Now, LRPs: append(slices.Clip(p.LRPs), q.LRPs...), Tasks: append(slices.Clip(p.Tasks), q.Tasks...)}
	merged.Starts = Starts(merged.LRPs)
	merged.Counts = p.Counts
	merged.Counts.Add(q.Counts)
	merged.MissingCells = slices.Compact(slices.Sorted(slices.Values(append(slices.Clip(p.MissingCells), q.MissingCells...))))
	render := func(p Plan) string {
		return strings.Join(w.renderPlan(materialise(p, func() string { return "x" })), "\n")
	}
	if a, b := render(whole), render(merged); a != b {
		return fmt.Errorf("split at %s: the parts' plans differ from the whole's:\n%s\n---\n%s", at, a, b)
	}
	if merged.Counts != whole.Counts {
		return fmt.Errorf("split at %s: counts %+v, the whole's %+v", at, merged.Counts, whole.Counts)
	}
	if !slices.Equal(merged.MissingCells, whole.MissingCells) {
		return fmt.Errorf("split at %s: missing cells %v, the whole's %v", at, merged.MissingCells, whole.MissingCells)
	}
	return nil
}

// TestCountsAddEveryField: Add sums every count, so that a field added to
// Counts without a line in Add fails here.
func TestCountsAddEveryField(t *testing.T) {
	var c Counts
	v := reflect.ValueOf(&c).Elem()
	n := 0
	var fill func(f reflect.Value)
	fill = func(f reflect.Value) {
		switch f.Kind() {
		case reflect.Int:
			n++
			f.SetInt(int64(n))
		case reflect.Array:
			for i := range f.Len() {
				fill(f.Index(i))
			}
		default:
			t.Fatalf("Counts has a %s field; teach Add and this test about it", f.Kind())
		}
	}
	for i := range v.NumField() {
		fill(v.Field(i))
	}
	sum := c
	sum.Add(c)
	got := reflect.ValueOf(sum)
	var check func(path string, g, w reflect.Value)
	check = func(path string, g, w reflect.Value) {
		if g.Kind() == reflect.Array {
			for i := range g.Len() {
				check(fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i))
			}
			return
		}
		if g.Int() != 2*w.Int() {
			t.Errorf("after Add, %s = %d, want %d", path, g.Int(), 2*w.Int())
		}
	}
	for i := range v.NumField() {
		check(v.Type().Field(i).Name, got.Field(i), v.Field(i))
	}
}
