package cell

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"code.cloudfoundry.org/rep"
)

// checkStateJSON fails unless StateJSON is byte for byte json.Marshal of
// State, at the current generation.
func checkStateJSON(t *testing.T, l *Ledger, what string) {
	t.Helper()
	got, gen, err := l.StateJSON(t0)
	if err != nil {
		t.Fatalf("%s: StateJSON: %v", what, err)
	}
	want, err := json.Marshal(l.State(t0))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: StateJSON differs from json.Marshal(State):\n got %s\nwant %s", what, got, want)
	}
	if gen != l.Generation() {
		t.Fatalf("%s: StateJSON generation %d, ledger at %d", what, gen, l.Generation())
	}
	var back rep.CellState
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("%s: StateJSON does not decode: %v", what, err)
	}
}

// TestStateJSONFollowsEveryChange: the encoding with kept LRP encodings is
// json.Marshal's after each kind of change, a guid reserved again with
// other resources included.
func TestStateJSONFollowsEveryChange(t *testing.T) {
	l := New(Identity{CellID: "cell-1", CellIndex: 2, Zone: "z1", RepURL: "https://cell-1:1801",
		RootFSProviders: rep.RootFSProviders{"preloaded": rep.NewFixedSetRootFSProvider("cflinuxfs4"), "docker": rep.ArbitraryRootFSProvider{}},
		PlacementTags:   []string{"gpu"}, OptionalPlacementTags: []string{"ssd"}, VolumeDrivers: []string{"nfs"},
	}, rep.NewResources(4096, 8192, 10))
	checkStateJSON(t, l, "empty")
	l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("a", 256, 10), lrp("b", 512, 10), lrp("c", 128, 10)}, Tasks: []rep.Task{task("t", 64, 10)}}, t0)
	checkStateJSON(t, l, "reserved")
	checkStateJSON(t, l, "reserved, again")
	must(t, l.Transition(KindLRP, "b", Running))
	checkStateJSON(t, l, "b running")
	must(t, l.Complete(KindLRP, "a", true))
	checkStateJSON(t, l, "a crashed")
	must(t, l.Complete(KindLRP, "b", false))
	checkStateJSON(t, l, "b shut down")
	must(t, l.Complete(KindTask, "t", false))
	checkStateJSON(t, l, "task completed")
	if _, err := l.Release(KindLRP, "c"); err != nil {
		t.Fatal(err)
	}
	checkStateJSON(t, l, "c released")
	l.Reserve(rep.Work{LRPs: []rep.LRP{lrp("c", 1024, 99)}}, t0) // the same guid, other resources
	checkStateJSON(t, l, "c reserved again")
	l.SetEvacuating(true)
	checkStateJSON(t, l, "evacuating")
}

// TestStateJSONRandomChanges runs a seeded mix of every change on a ledger
// and compares the encodings after each.
func TestStateJSONRandomChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 250000))
	l := newLedger(64*1024, 64*1024, 64)
	var guids []string
	for step := range 2000 {
		switch op := r.IntN(10); {
		case op < 4:
			g := fmt.Sprintf("g%d", r.IntN(100))
			if r.IntN(4) == 0 {
				l.Reserve(rep.Work{Tasks: []rep.Task{task(g, int32(1+r.IntN(512)), 10)}}, t0)
			} else {
				l.Reserve(rep.Work{LRPs: []rep.LRP{lrp(g, int32(1+r.IntN(512)), int32(r.IntN(50)))}}, t0)
			}
			guids = append(guids, g)
		case op < 7 && len(guids) > 0:
			_ = l.Transition(KindLRP, guids[r.IntN(len(guids))], Phase(int(Initializing)+r.IntN(3)))
		case op < 8 && len(guids) > 0:
			_ = l.Complete(KindLRP, guids[r.IntN(len(guids))], r.IntN(2) == 0)
		case len(guids) > 0:
			g := guids[r.IntN(len(guids))]
			_, _ = l.Release(KindLRP, g)
			_, _ = l.Release(KindTask, g)
		}
		if step%3 == 0 {
			checkStateJSON(t, l, fmt.Sprintf("step %d", step))
		}
	}
	checkStateJSON(t, l, "the end")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkStateJSON encodes a cell of 200 instances after one of them
// was replaced: StateJSON (the kept encodings) against json.Marshal of State.
func BenchmarkStateJSON(b *testing.B) {
	l := newLedger(256*1024, 256*1024, 250)
	var w rep.Work
	for i := range 200 {
		w.LRPs = append(w.LRPs, lrp(fmt.Sprintf("g%03d", i), 256, 1024))
	}
	l.Reserve(w, t0)
	for _, bc := range []struct {
		name   string
		encode func() error
	}{
		{"kept", func() error { _, _, err := l.StateJSON(t0); return err }},
		{"marshal", func() error { _, err := json.Marshal(l.State(t0)); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				g := fmt.Sprintf("g%03d", i%200) // one instance goes, another comes
				i++
				if _, err := l.Release(KindLRP, g); err != nil {
					b.Fatal(err)
				}
				l.Reserve(rep.Work{LRPs: []rep.LRP{lrp(g, 256, 1024)}}, t0)
				if err := bc.encode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
