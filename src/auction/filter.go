package auction

import (
	"net/url"

	"code.cloudfoundry.org/rep"
)

// A filter is one feasibility check on a cell's fixed properties, in the
// reference's order. Resources are not a filter: they change as the batch is
// placed and are checked by the index.
type filter struct {
	fits   func(cell *rep.CellState, c *rep.PlacementConstraint) bool
	reason func(c *rep.PlacementConstraint) string
}

// filters run in order; a cell is compatible when it passes all of them.
var filters = [...]filter{
	{fitsRootFS, func(*rep.PlacementConstraint) string { return ReasonRootFS }},
	{fitsVolumeDrivers, func(*rep.PlacementConstraint) string { return ReasonVolumeDrivers }},
	{fitsPlacementTags, func(c *rep.PlacementConstraint) string { return placementTagsReason(c.PlacementTags) }},
}

// compatible is the stage of a cell that passes every filter.
const compatible = len(filters)

// fitsRootFS: the cell has a provider for the rootfs URL's scheme that
// accepts it (preloaded:NAME and preloaded+layer:NAME name a fixed set;
// arbitrary providers such as docker take any URL), as rep.RootFSProviders
// decides.
func fitsRootFS(cell *rep.CellState, c *rep.PlacementConstraint) bool {
	if u, err := url.Parse(c.RootFs); err == nil {
		if p, ok := cell.RootFSProviders[u.Scheme]; ok && p == nil {
			return false // rep would call a nil provider; it matches nothing
		}
	}
	return cell.MatchRootFS(c.RootFs)
}

// fitsVolumeDrivers: the cell has every requested volume driver.
func fitsVolumeDrivers(cell *rep.CellState, c *rep.PlacementConstraint) bool {
	return cell.MatchVolumeDrivers(c.VolumeDrivers)
}

// fitsPlacementTags: the cell's required tags are a subset of the
// workload's, which are a subset of the cell's required and optional tags.
func fitsPlacementTags(cell *rep.CellState, c *rep.PlacementConstraint) bool {
	return cell.MatchPlacementTags(c.PlacementTags)
}

// stage is how many filters the cell passes, in order, before the first it
// fails; compatible if it passes them all.
func stage(cell *rep.CellState, c *rep.PlacementConstraint) int {
	for i := range filters {
		if !filters[i].fits(cell, c) {
			return i
		}
	}
	return compatible
}

// filterReason is the placement error when the furthest any cell got
// through the filters is stage s (< compatible).
func filterReason(s int, c *rep.PlacementConstraint) string {
	return filters[s].reason(c)
}
