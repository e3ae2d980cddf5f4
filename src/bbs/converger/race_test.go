package converger_test

import (
	"context"
	"sync"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/convergence"
	"github.com/diego-go/diego/src/bbs/converger"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/internal/testdb"
)

// betweenReads is a store that runs hook once between the snapshot's read
// of scheduling infos and its read of actual LRPs: on entry to the second
// of the two, after the first has returned, whichever order they come in.
type betweenReads struct {
	store.Store
	mu   sync.Mutex
	done int // reads of the two kinds that have returned
	hook func()
}

func (b *betweenReads) enter() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done == 1 && b.hook != nil {
		b.hook()
		b.hook = nil
	}
}

func (b *betweenReads) exit() {
	b.mu.Lock()
	b.done++
	b.mu.Unlock()
}

func (b *betweenReads) EachSchedulingInfo(ctx context.Context, f store.DesiredFilter, fn func([]byte) error) error {
	b.enter()
	defer b.exit()
	return b.Store.EachSchedulingInfo(ctx, f, fn)
}

func (b *betweenReads) ActualLRPs(ctx context.Context, f store.ActualFilter) ([]*models.ActualLRP, error) {
	b.enter()
	defer b.exit()
	return b.Store.ActualLRPs(ctx, f)
}

// TestDesireBetweenSnapshotReadsKeepsInstances: an LRP desired while a
// convergence pass is between its reads of desired and actual rows keeps
// every instance DesireLRP made (issue 17: they were retired as orphans,
// then recreated a pass later).
func TestDesireBetweenSnapshotReadsKeepsInstances(t *testing.T) {
	for _, b := range testdb.Backends[:2] { // SQLite and PostgreSQL
		t.Run(b.Driver, func(t *testing.T) {
			h := bbstest.Start(t, bbstest.Options{Driver: b.Driver, DSN: b.NewDSN(t), Auctioneer: &bbstest.Recorder{}})
			must(t, h.Client.UpsertDomain(logger, "", "d", 0))
			calls := 0
			st := &betweenReads{Store: h.Daemon.ServiceStore(), hook: func() {
				calls++
				must(t, h.Client.DesireLRP(logger, "", lrp("fresh", 3)))
			}}
			c, err := converger.New(converger.Config{}, st, h.Daemon.Service(), nil, nil)
			must(t, err)
			r, err := c.Pass(context.Background())
			must(t, err)
			if calls != 1 {
				t.Fatalf("the desire ran %d times between the snapshot's reads, want 1", calls)
			}
			got, err := h.Client.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: "fresh"})
			must(t, err)
			if len(got) != 3 {
				t.Fatalf("after a pass racing the desire: %d of 3 instances left (report %+v)", len(got), r)
			}
			for _, a := range got {
				if a.State != models.ActualLRPStateUnclaimed || a.Presence != models.ActualLRP_Ordinary || a.ModificationTag.Index != 0 {
					t.Fatalf("instance %d is %s/%s tag %+v, want the untouched UNCLAIMED row DesireLRP made", a.Index, a.Presence, a.State, a.ModificationTag)
				}
			}
		})
	}
}

// applyHook runs hook before the first LRP action is applied.
type applyHook struct {
	converger.Applier
	once sync.Once
	hook func()
}

func (a *applyHook) ApplyLRPAction(ctx context.Context, act *convergence.LRPAction) (bool, error) {
	a.once.Do(a.hook)
	return a.Applier.ApplyLRPAction(ctx, act)
}

// TestRetireOrphanRechecksDesired: instances decided to be orphans are not
// retired when their process guid has been desired again by the time the
// action is applied (the applying step re-checks the desired row, not only
// the actual rows).
func TestRetireOrphanRechecksDesired(t *testing.T) {
	for _, b := range testdb.Backends[:2] { // SQLite and PostgreSQL
		t.Run(b.Driver, func(t *testing.T) {
			h := bbstest.Start(t, bbstest.Options{Driver: b.Driver, DSN: b.NewDSN(t), Auctioneer: &bbstest.Recorder{}})
			ctx := context.Background()
			must(t, h.Client.UpsertDomain(logger, "", "d", 0))
			must(t, h.Client.DesireLRP(logger, "", lrp("back", 2)))
			st := h.Daemon.ServiceStore()
			// The desired row goes, its instances stay: orphans.
			must(t, st.Update(ctx, func(tx store.Tx) error { return tx.DeleteDesiredLRP("back") }))
			ap := &applyHook{Applier: h.Daemon.Service(), hook: func() {
				must(t, st.Update(ctx, func(tx store.Tx) error { return tx.InsertDesiredLRP(lrp("back", 2)) }))
			}}
			c, err := converger.New(converger.Config{}, st, ap, nil, nil)
			must(t, err)
			r, err := c.Pass(ctx)
			must(t, err)
			if r.Counts.Orphaned != 2 {
				t.Fatalf("the pass did not decide on orphans (report %+v)", r)
			}
			got, err := h.Client.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: "back"})
			must(t, err)
			if len(got) != 2 || r.LRPApplied != 0 {
				t.Fatalf("desired again before the retirement applied: %d of 2 instances left, %d actions applied", len(got), r.LRPApplied)
			}
		})
	}
}
