package converger

import (
	"context"
	"fmt"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/convergence"
	"github.com/diego-go/diego/src/bbs/store"
)

// presenceType is the Locket row type of a cell presence.
const presenceType = "presence"

// cluster reads what every part of a pass shares: the fresh domains and
// the cells holding a presence.
func cluster(ctx context.Context, st store.Store, now time.Time) (convergence.Snapshot, error) {
	s := convergence.Snapshot{Now: now.UnixNano(), Cells: map[string]struct{}{}, Domains: map[string]struct{}{}}
	domains, err := st.Domains(ctx, now)
	if err != nil {
		return s, fmt.Errorf("listing domains: %w", err)
	}
	for _, d := range domains {
		s.Domains[d] = struct{}{}
	}
	cells, err := cellIDs(ctx, st)
	if err != nil {
		return s, err
	}
	s.Cells = cells
	return s, nil
}

// readLRPs fills s with the actual and desired LRPs whose process guids lie
// in r.
//
// Actual rows first, desired rows second: DesireLRP writes the desired row
// and its instances in one transaction, so an LRP desired between the two
// reads shows up as desired with missing instances (whose create-missing the
// applying step drops, the rows being there), never as instances without a
// desired LRP, which would be retired as orphans. Desired rows removed
// between the reads make orphans of rows RemoveDesiredLRP retires itself;
// ApplyLRPAction re-checks both the actual rows and the desired row before
// writing.
func readLRPs(ctx context.Context, st store.Store, r store.GuidRange, s *convergence.Snapshot) error {
	var err error
	if s.Actual, err = st.ActualLRPs(ctx, store.ActualFilter{Range: r}); err != nil {
		return fmt.Errorf("listing actual LRPs: %w", err)
	}
	if s.Desired, err = store.Collect[models.DesiredLRPSchedulingInfo](ctx, st.EachSchedulingInfo, store.DesiredFilter{Range: r}); err != nil {
		return fmt.Errorf("listing scheduling infos: %w", err)
	}
	return nil
}

// ranges splits the process guids into consecutive ranges, each holding at
// most n of the desired ones (sorted, as Store.DesiredProcessGuids lists
// them). Together the ranges hold every process guid, desired or not: the
// first is open below, the last open above.
func ranges(desired []string, n int) []store.GuidRange {
	if n <= 0 || len(desired) <= n {
		return []store.GuidRange{{}}
	}
	var out []store.GuidRange
	from := ""
	for i := n; i < len(desired); i += n {
		out = append(out, store.GuidRange{From: from, To: desired[i]})
		from = desired[i]
	}
	return append(out, store.GuidRange{From: from})
}

// cellIDs is the set of cells holding a presence.
func cellIDs(ctx context.Context, st store.Store) (map[string]struct{}, error) {
	rows, err := st.Presences(ctx, presenceType)
	if err != nil {
		return nil, fmt.Errorf("listing cell presences: %w", err)
	}
	out := make(map[string]struct{}, len(rows))
	for _, r := range rows {
		out[r.Key] = struct{}{}
	}
	return out, nil
}
