package auctioneer

import (
	"sync"
	"time"

	"github.com/diego-go/diego/src/auction"
)

type lrpKey struct {
	guid  string
	index int32
}

// queue collects placements between rounds. LRP instances are deduplicated
// by (process guid, index) and tasks by guid: a later request replaces an
// earlier one in place. All methods are safe for concurrent use.
type queue struct {
	mu       sync.Mutex
	lrps     []auction.LRP  // guarded by mu
	lrpAt    map[lrpKey]int // index into lrps; guarded by mu
	tasks    []auction.Task // guarded by mu
	taskAt   map[string]int // guarded by mu
	readyAt  time.Time      // earliest start of the next round; guarded by mu
	wake     chan struct{}  // signalled when readyAt moves earlier
	interval time.Duration
}

func newQueue(batchInterval time.Duration) *queue {
	return &queue{lrpAt: map[lrpKey]int{}, taskAt: map[string]int{}, wake: make(chan struct{}, 1), interval: batchInterval}
}

// add queues b; the next round may start after the batch interval.
func (q *queue) add(b auction.Batch) { q.addAt(b, time.Now().Add(q.interval)) }

// addAt queues b so that a round may start at the latest at ready.
func (q *queue) addAt(b auction.Batch, ready time.Time) {
	if len(b.LRPs) == 0 && len(b.Tasks) == 0 {
		return
	}
	q.mu.Lock()
	for _, l := range b.LRPs {
		k := lrpKey{l.ProcessGuid, l.Index}
		if i, ok := q.lrpAt[k]; ok {
			q.lrps[i] = l
			continue
		}
		q.lrpAt[k] = len(q.lrps)
		q.lrps = append(q.lrps, l)
	}
	for _, t := range b.Tasks {
		if i, ok := q.taskAt[t.TaskGuid]; ok {
			q.tasks[i] = t
			continue
		}
		q.taskAt[t.TaskGuid] = len(q.tasks)
		q.tasks = append(q.tasks, t)
	}
	earlier := q.readyAt.IsZero() || ready.Before(q.readyAt)
	if earlier {
		q.readyAt = ready
	}
	q.mu.Unlock()
	if earlier {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// len is the number of queued LRP instances and tasks.
func (q *queue) len() (lrps, tasks int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.lrps), len(q.tasks)
}

// ready reports when the next round may start (zero: nothing queued).
func (q *queue) ready() time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.readyAt
}

// drain empties the queue and returns its content in arrival order.
func (q *queue) drain() auction.Batch {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := auction.Batch{LRPs: q.lrps, Tasks: q.tasks}
	q.lrps, q.tasks = nil, nil
	q.lrpAt, q.taskAt = map[lrpKey]int{}, map[string]int{}
	q.readyAt = time.Time{}
	return b
}
