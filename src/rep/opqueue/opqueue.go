// Package opqueue runs operations one at a time per key (an LRP instance or
// task guid) and concurrently across keys, so the rep's bulk sync, container
// events and API calls never race on the same instance.
package opqueue

import "sync"

// Queue serialises operations per key. The zero value is ready to use.
type Queue struct {
	mu    sync.Mutex
	locks map[string]*entry
}

type entry struct {
	mu   sync.Mutex
	refs int
}

// Do runs fn after every earlier operation on key has finished; operations
// on other keys run concurrently. Idle keys use no memory.
func (q *Queue) Do(key string, fn func()) {
	q.mu.Lock()
	if q.locks == nil {
		q.locks = map[string]*entry{}
	}
	e := q.locks[key]
	if e == nil {
		e = &entry{}
		q.locks[key] = e
	}
	e.refs++
	q.mu.Unlock()

	e.mu.Lock()
	defer func() {
		e.mu.Unlock()
		q.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(q.locks, key)
		}
		q.mu.Unlock()
	}()
	fn()
}

// Len reports how many keys have an operation running or waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.locks)
}
