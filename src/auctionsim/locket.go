package auctionsim

import (
	"context"
	"encoding/json"
	"sync"

	"code.cloudfoundry.org/bbs/models"
	lmodels "code.cloudfoundry.org/locket/models"
)

// memLocket is an in-memory Locket for one auctioneer: every lock request
// succeeds, and FetchAll lists the simulated cells' presences.
type memLocket struct {
	mu        sync.Mutex
	presences []*lmodels.Resource // guarded by mu
}

func newMemLocket(cells []*models.CellPresence) (*memLocket, error) {
	l := &memLocket{}
	for _, c := range cells {
		v, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		l.presences = append(l.presences, &lmodels.Resource{Key: c.CellId, Owner: c.CellId, Value: string(v), Type: lmodels.PresenceType, TypeCode: lmodels.PRESENCE})
	}
	return l, nil
}

func (l *memLocket) Lock(context.Context, *lmodels.LockRequest) (*lmodels.LockResponse, error) {
	return &lmodels.LockResponse{}, nil
}

func (l *memLocket) Release(context.Context, *lmodels.ReleaseRequest) (*lmodels.ReleaseResponse, error) {
	return &lmodels.ReleaseResponse{}, nil
}

func (l *memLocket) Fetch(context.Context, *lmodels.FetchRequest) (*lmodels.FetchResponse, error) {
	return nil, lmodels.ErrResourceNotFound
}

func (l *memLocket) FetchAll(_ context.Context, req *lmodels.FetchAllRequest) (*lmodels.FetchAllResponse, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lmodels.GetResource(&lmodels.Resource{Type: req.Type, TypeCode: req.TypeCode}).TypeCode != lmodels.PRESENCE {
		return &lmodels.FetchAllResponse{}, nil
	}
	return &lmodels.FetchAllResponse{Resources: append([]*lmodels.Resource(nil), l.presences...)}, nil
}

// recordingBBS counts the placement failures the auctioneer reports.
type recordingBBS struct {
	mu      sync.Mutex
	reasons map[string]int // guarded by mu
	lrps    int            // guarded by mu
	tasks   int            // guarded by mu
}

func (b *recordingBBS) FailActualLRP(_ context.Context, _ *models.ActualLRPKey, reason string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reasons[reason]++
	b.lrps++
	return nil
}

func (b *recordingBBS) RejectTask(_ context.Context, _, reason string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reasons[reason]++
	b.tasks++
	return nil
}
