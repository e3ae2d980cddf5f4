package host

import (
	"fmt"

	"github.com/diego-go/diego/src/rep/container"
)

// Ports allocates host ports round-robin through a range, so a freed port
// is reused last. It is not safe for concurrent use: the backend holds its
// lock.
type Ports struct {
	start, end, next uint32
	owner            map[uint32]string // allocated host port -> handle
}

// NewPorts allocates from [start, end].
func NewPorts(start, end uint32) *Ports {
	return &Ports{start: start, end: end, next: start, owner: map[uint32]string{}}
}

// Allocate takes n ports for handle: each the next one no container holds
// and use accepts (nothing else listens there, a proxy could be started).
// After a whole range of tries without n ports, it releases what it took
// and returns container.ErrNoCapacity.
func (p *Ports) Allocate(handle string, n int, use func(port uint32) bool) ([]uint32, error) {
	var got []uint32
	size := p.end - p.start + 1
	for tried := uint32(0); len(got) < n && tried < size; tried++ {
		port := p.next
		p.next++
		if p.next > p.end {
			p.next = p.start
		}
		if _, taken := p.owner[port]; taken || !use(port) {
			continue
		}
		p.owner[port] = handle
		got = append(got, port)
	}
	if len(got) < n {
		p.Release(handle, got...)
		return nil, fmt.Errorf("%w: no free host port in %d-%d", container.ErrNoCapacity, p.start, p.end)
	}
	return got, nil
}

// Hold records that handle holds port (a container recovered after a
// restart).
func (p *Ports) Hold(handle string, port uint32) { p.owner[port] = handle }

// Release frees those of ports handle holds.
func (p *Ports) Release(handle string, ports ...uint32) {
	for _, port := range ports {
		if p.owner[port] == handle {
			delete(p.owner, port)
		}
	}
}
