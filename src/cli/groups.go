package cli

import (
	"context"
	"fmt"
	"strconv"

	"code.cloudfoundry.org/bbs/models"
)

// The deprecated views the reference tool still prints by default: actual
// LRP groups (an index's instance with its evacuating copy), through the
// reference's /v1/actual_lrp_groups routes; their rows are in commands.go.

func actualLRPGroupFilter(c *call) func([]string) (models.ActualLRPFilter, error) {
	var domain, cellID string
	c.str(&domain, "domain", "d", "", "only actual LRP groups of this domain")
	c.str(&cellID, "cell-id", "c", "", "only actual LRPs on this cell")
	return func([]string) (models.ActualLRPFilter, error) {
		return models.ActualLRPFilter{Domain: domain, CellID: cellID}, nil
	}
}

func actualLRPGroups(_ context.Context, k *conn, f models.ActualLRPFilter) ([]*models.ActualLRPGroup, error) { //lint:ignore SA1019 cfdot's view
	return k.bbs.ActualLRPGroups(quiet, "", f)
}

// groupsQuery is actual-lrp-groups-for-guid's request: a process guid and,
// optionally (index >= 0), one index.
type groupsQuery struct {
	guid  string
	index int
}

func groupsForGuidRequest(c *call) func([]string) (groupsQuery, error) {
	var index string
	c.str(&index, "index", "i", "", "only the group of this index")
	return func(pos []string) (groupsQuery, error) {
		q := groupsQuery{guid: pos[0], index: -1}
		if q.guid == "" {
			return q, fmt.Errorf("PROCESS_GUID must not be empty")
		}
		if index != "" {
			i, err := strconv.Atoi(index)
			if err != nil || i < 0 {
				return q, fmt.Errorf("--index: %q is not a non-negative integer", index)
			}
			q.index = i
		}
		return q, nil
	}
}

func actualLRPGroupsForGuid(_ context.Context, k *conn, q groupsQuery) ([]*models.ActualLRPGroup, error) { //lint:ignore SA1019 cfdot's view
	if q.index < 0 {
		return k.bbs.ActualLRPGroupsByProcessGuid(quiet, "", q.guid)
	}
	g, err := k.bbs.ActualLRPGroupByProcessGuidAndIndex(quiet, "", q.guid, q.index)
	if err != nil {
		return nil, err
	}
	return []*models.ActualLRPGroup{g}, nil //lint:ignore SA1019 cfdot's view
}

func schedulingInfos(_ context.Context, k *conn, f models.DesiredLRPFilter) ([]*models.DesiredLRPSchedulingInfo, error) {
	return k.bbs.DesiredLRPSchedulingInfos(quiet, "", f)
}
