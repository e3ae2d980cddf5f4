package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
)

// DefaultPoolSize is how many instance keys a cell keeps generated ahead.
const DefaultPoolSize = 8

// KeyPool keeps up to a fixed number of RSA keys generated ahead by one
// background goroutine, so that issuing a container's credentials does not
// wait for a 2048-bit key (tens of milliseconds of CPU) while containers
// start at the rate the pool refills. When the pool is empty a key is
// generated on the spot. Each key is handed out once.
type KeyPool struct {
	keys chan *rsa.PrivateKey
	done chan struct{}
}

// NewKeyPool starts filling a pool of size keys; the filling stops when
// ctx ends (wait for it with Wait). Keys come from crypto/rand.
func NewKeyPool(ctx context.Context, size int) *KeyPool {
	p := &KeyPool{keys: make(chan *rsa.PrivateKey, max(size, 1)), done: make(chan struct{})}
	go p.fill(ctx)
	return p
}

func (p *KeyPool) fill(ctx context.Context) {
	defer close(p.done)
	for ctx.Err() == nil {
		key, err := rsa.GenerateKey(rand.Reader, keyBits)
		if err != nil {
			return // Get generates (and reports the error) on the spot
		}
		select {
		case p.keys <- key:
		case <-ctx.Done():
			return
		}
	}
}

// Wait blocks until the filling goroutine has stopped.
func (p *KeyPool) Wait() { <-p.done }

// Get returns a key generated ahead, or a new one when none is ready.
func (p *KeyPool) Get() (*rsa.PrivateKey, error) {
	select {
	case key := <-p.keys:
		return key, nil
	default:
	}
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generating an instance identity key: %w", err)
	}
	return key, nil
}

// Ready reports how many keys are waiting in the pool.
func (p *KeyPool) Ready() int { return len(p.keys) }
