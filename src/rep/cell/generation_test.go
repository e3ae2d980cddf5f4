package cell

import (
	"fmt"
	"testing"

	"code.cloudfoundry.org/rep"
)

// Every change State would show moves the generation; reads do not.
func TestGenerationMovesWithEveryChange(t *testing.T) {
	l := newLedger(1024, 2048, 4)
	steps := []struct {
		name   string
		do     func()
		change bool
	}{
		{"reserve", func() {
			l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("a", 100, 10)}, Tasks: []rep.Task{task("t", 100, 10)}}, t0)
		}, true},
		{"reserve nothing that fits", func() { l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("big", 9999, 10)}}, t0) }, false},
		{"transition", func() { _ = l.Transition(KindLRP, "a", Running) }, true},
		{"complete", func() { _ = l.Complete(KindTask, "t", true) }, true},
		{"evacuate", func() { l.SetEvacuating(true) }, true},
		{"release", func() { _, _ = l.Release(KindTask, "t") }, true},
		{"expire", func() {
			l.SetEvacuating(false)
			l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("b", 100, 10)}}, t0)
			l.Expire(t0.Add(ReservationTTL))
		}, true},
		{"reads", func() { l.State(t0); l.Reservations(); l.Get(KindLRP, "a"); l.Evacuating(); l.CellID() }, false},
	}
	for _, s := range steps {
		before, beforeGen := l.StateGen(t0)
		s.do()
		after, afterGen := l.StateGen(t0)
		if moved := afterGen != beforeGen; moved != s.change {
			t.Errorf("%s: generation %d -> %d, want moved=%v", s.name, beforeGen, afterGen, s.change)
		}
		if same := fmt.Sprintf("%+v", before) == fmt.Sprintf("%+v", after); same && s.change || !same && !s.change {
			t.Errorf("%s: state changed=%v, want %v", s.name, !same, s.change)
		}
		if g := l.Generation(); g != afterGen {
			t.Errorf("%s: Generation() = %d, StateGen's %d", s.name, g, afterGen)
		}
	}
}
