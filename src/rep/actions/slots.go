package actions

import "context"

// Slots bounds how many transfers (downloads or uploads) run at once, like
// the reference executor's max_concurrent_downloads/uploads. A nil Slots
// does not bound them.
type Slots chan struct{}

// NewSlots returns Slots for n transfers at once; n <= 0 means no bound.
func NewSlots(n int) Slots {
	if n <= 0 {
		return nil
	}
	return make(Slots, n)
}

// acquire waits for a free slot; call the returned func to free it.
func (s Slots) acquire(ctx context.Context) (func(), error) {
	if s == nil {
		return func() {}, nil
	}
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
