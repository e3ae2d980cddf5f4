package auction

import (
	"fmt"
	"github.com/diego-go/diego/src/internal/golden"
	"strings"
	"testing"
)

// TestScenarios runs every testdata/*.txt script (see package golden for the
// format; go test -rewrite regenerates the expectations). The one command,
// schedule, runs a round (see world in world_test.go).
func TestScenarios(t *testing.T) {
	golden.Run(t, "testdata/*.txt", func() func(*golden.Block) ([]string, error) { return runBlock })
}

// runBlock runs "schedule [seed=N] [weight=F] [firstfit=F] [max=N] [zones]
// [left]" on the block's world and renders the result; with zones it also
// prints each process's instances per zone, with left each cell's free
// resources after the round.
func runBlock(b *golden.Block) ([]string, error) {
	fields := strings.Fields(b.Cmd)
	if len(fields) == 0 || fields[0] != "schedule" {
		return nil, fmt.Errorf("unknown command %q", b.Cmd)
	}
	w, err := parseWorld(b.Input)
	if err != nil {
		return nil, err
	}
	cfg, show, err := parseConfig(fields[1:])
	if err != nil {
		return nil, err
	}
	res := Schedule(w.cells, w.batch, cfg)
	zoneOf := map[string]string{}
	for _, c := range w.cells {
		zoneOf[c.CellID] = c.Zone
	}
	out := renderResult(res, zoneOf)
	if show["zones"] {
		out = append(out, w.renderZones(res)...)
	}
	if show["left"] {
		applyResult(w.cells, res, false)
		out = append(out, w.renderLeft()...)
	}
	return out, nil
}
