package lease

import (
	"context"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/locket"
)

// stalling is a Locket client that answers some Lock requests slowly: every
// hangEvery-th request (from the second on) hangs until its context ends, as
// a request stuck behind a dead connection or a saturated pool would, and
// every request is delayed by delay first.
type stalling struct {
	locket.Client
	hangEvery int
	delay     time.Duration

	mu    sync.Mutex
	calls int
	hung  int
}

func (s *stalling) Lock(ctx context.Context, req *models.LockRequest) (*models.LockResponse, error) {
	s.mu.Lock()
	s.calls++
	hang := s.hangEvery > 0 && s.calls > 1 && s.calls%s.hangEvery == 0
	if hang {
		s.hung++
	}
	s.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Client.Lock(ctx, req)
}

func (s *stalling) counts() (calls, hung int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.hung
}

// TestHoldSurvivesSlowLocket: a holder whose Locket leaves some refreshes
// hanging, or answers every refresh only after TTL/2, keeps its lease: a
// hanging refresh does not use up the lease's time, another attempt is sent
// alongside it and succeeds.
func TestHoldSurvivesSlowLocket(t *testing.T) {
	t.Parallel()
	// The reference's TTL (15 s) and the default margin (ttl/5): a success
	// keeps the lease 12 s from its send, and the attempt timeout is 3 s, so
	// a machine too busy to run the holder for a second or two (the tests
	// share it) does not decide the outcome. Before requests had
	// their own deadlines, each of these lost the lease within seconds: a
	// request's deadline was the lease's, so a hanging one used it all up,
	// and a slow one sent late in the lease's life was given up too soon.
	for name, tc := range map[string]struct {
		ttl   time.Duration
		c     *stalling
		calls int
	}{
		"every third refresh hangs": {15 * time.Second, &stalling{hangEvery: 3}, 12},
		// Over half the lease's validity: one refresh at a time cannot keep it.
		"every refresh takes 6.5s of a 15s ttl": {15 * time.Second, &stalling{delay: 6500 * time.Millisecond}, 6},
	} {
		c := tc.c
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			svc, _ := newService(t)
			c.Client = svc.LocalClient()
			r := newRecorder()
			cfg := r.config("bbs-0")
			cfg.TTL, cfg.SafetyMargin, cfg.RetryInterval = tc.ttl, 0, time.Second
			stop, _ := hold(t, c, cfg)
			r.waitAcquired(t, 30*time.Second)
			// Until enough refreshes went through, hangs included (counted,
			// not timed: a busy machine only makes this take longer).
			deadline := time.After(120 * time.Second)
			for {
				calls, hung := c.counts()
				if calls >= tc.calls && (c.hangEvery == 0 || hung >= 3) {
					break
				}
				select {
				case err := <-r.lost:
					t.Fatalf("lease lost after %d requests (%d hung): %v", calls, hung, err)
				case <-deadline:
					t.Fatalf("only %d requests (%d hung) in 120 s", calls, hung)
				case <-time.After(50 * time.Millisecond):
				}
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-r.lost:
				if err != context.Canceled {
					t.Fatalf("OnLost(%v) while Locket was slow but answering; want only the final context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no OnLost after stop")
			}
		})
	}
}
