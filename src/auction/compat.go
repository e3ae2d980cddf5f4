package auction

import "code.cloudfoundry.org/rep"

// compat is what the filters decide for one placement constraint: which
// groups' cells may take it, by zone, and, when none may, how far the best
// cell got through the filters.
type compat struct {
	stage int          // furthest stage any cell reached; compatible if some cell passed
	zones []zoneGroups // zones with compatible cells, in zone order
}

type zoneGroups struct {
	zone   int32
	groups []int32
}

// compatFor evaluates c's filters once per cell signature and caches the
// answer for the round.
func (x *index) compatFor(c *rep.PlacementConstraint) *compat {
	m, k := x.simple, c.RootFs
	if len(c.VolumeDrivers) > 0 || len(c.PlacementTags) > 0 {
		m, k = x.complex, constraintKey(c)
	}
	cp, ok := m[k]
	if !ok {
		cp = x.evaluate(c)
		m[k] = cp
	}
	return cp
}

// evaluate runs the filters on one cell of each signature. The error, when
// no cell is compatible, is the furthest filter any cell passed: the
// reference reports the rootfs only if no cell has it, then volume drivers,
// then placement tags.
func (x *index) evaluate(c *rep.PlacementConstraint) *compat {
	stages := make([]int, len(x.sigs))
	cp := &compat{}
	for i, s := range x.sigs {
		stages[i] = stage(s, c)
		cp.stage = max(cp.stage, stages[i])
	}
	for z, groups := range x.zoneGroups {
		var ok []int32
		for _, g := range groups {
			if stages[x.groups[g].sig] == compatible {
				ok = append(ok, g)
			}
		}
		if len(ok) > 0 {
			cp.zones = append(cp.zones, zoneGroups{int32(z), ok})
		}
	}
	return cp
}
