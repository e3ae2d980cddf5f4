package auction

import (
	"slices"
	"strconv"
	"strings"

	"code.cloudfoundry.org/rep"
)

// cellSignature is a canonical key for everything the filters read on a
// cell: rootfs providers, volume drivers, required and optional placement
// tags. Cells with equal signatures pass and fail the same filters. A cell
// whose providers cannot be put in canonical form (a provider type other
// than rep's arbitrary and fixed-set ones) gets a key of its own.
func cellSignature(c *rep.CellState) string {
	var b strings.Builder
	schemes := make([]string, 0, len(c.RootFSProviders))
	for s := range c.RootFSProviders {
		schemes = append(schemes, s)
	}
	slices.Sort(schemes)
	for _, s := range schemes {
		writeString(&b, s)
		switch p := c.RootFSProviders[s].(type) {
		case rep.ArbitraryRootFSProvider:
			b.WriteString("*")
		case rep.FixedSetRootFSProvider:
			b.WriteString("[")
			writeSet(&b, setKeys(p.FixedSet))
			b.WriteString("]")
		default:
			return "\x02" + c.CellID // unique: filters evaluated on this cell alone
		}
	}
	for _, list := range [][]string{c.VolumeDrivers, c.PlacementTags, c.OptionalPlacementTags} {
		b.WriteByte('\x00')
		writeSet(&b, slices.Clone(list))
	}
	return b.String()
}

// constraintKey is a canonical key for a placement constraint with volume
// drivers or placement tags: requests with equal keys pass and fail the same
// filters on every cell. (A constraint with neither is keyed by its rootfs.)
func constraintKey(c *rep.PlacementConstraint) string {
	var b strings.Builder
	writeString(&b, c.RootFs)
	b.WriteByte('\x00')
	writeSet(&b, slices.Clone(c.VolumeDrivers))
	b.WriteByte('\x00')
	writeSet(&b, slices.Clone(c.PlacementTags))
	return b.String()
}

func setKeys(s rep.StringSet) []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	return out
}

// writeSet writes the distinct members of list (which it sorts).
func writeSet(b *strings.Builder, list []string) {
	slices.Sort(list)
	for i, s := range list {
		if i == 0 || s != list[i-1] {
			writeString(b, s)
		}
	}
}

// writeString writes s prefixed by its length, so no two sequences of
// strings write the same bytes.
func writeString(b *strings.Builder, s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}
