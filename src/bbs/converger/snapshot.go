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

// snapshot reads everything convergence decides on.
func snapshot(ctx context.Context, st store.Store, now time.Time) (convergence.Snapshot, error) {
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
	// Actual rows first, desired rows second: DesireLRP writes the desired
	// row and its instances in one transaction, so an LRP desired between
	// the two reads shows up as desired with missing instances (whose
	// create-missing the applying step drops, the rows being there), never
	// as instances without a desired LRP, which would be retired as
	// orphans. Desired rows removed between the reads make orphans of rows
	// RemoveDesiredLRP retires itself; ApplyLRPAction re-checks both the
	// actual rows and the desired row before writing.
	if s.Actual, err = st.ActualLRPs(ctx, store.ActualFilter{}); err != nil {
		return s, fmt.Errorf("listing actual LRPs: %w", err)
	}
	if s.Desired, err = store.Collect[models.DesiredLRPSchedulingInfo](ctx, st.EachSchedulingInfo, store.DesiredFilter{}); err != nil {
		return s, fmt.Errorf("listing scheduling infos: %w", err)
	}
	if s.Tasks, err = store.Collect[models.Task](ctx, st.EachTask, store.TaskFilter{}); err != nil {
		return s, fmt.Errorf("listing tasks: %w", err)
	}
	return s, nil
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
