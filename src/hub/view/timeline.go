package view

import (
	"strings"
	"sync"
	"time"
)

// Timeline item kinds.
const (
	KindInstanceStarted   = "instance_started"
	KindInstanceCrashed   = "instance_crashed"
	KindInstanceEvacuated = "instance_evacuated"
	KindInstanceRemoved   = "instance_removed"
	KindCellLost          = "cell_lost"
	KindCellAppeared      = "cell_appeared"
	KindTaskCompleted     = "task_completed"
	KindTaskFailed        = "task_failed"
	KindAppScaled         = "app_scaled"
	KindAction            = "action"
)

// Item is one timeline entry.
type Item struct {
	Time        time.Time `json:"time"`
	Kind        string    `json:"kind"`
	ProcessGuid string    `json:"process_guid,omitempty"`
	Index       *int32    `json:"index,omitempty"`
	CellID      string    `json:"cell_id,omitempty"`
	TaskGuid    string    `json:"task_guid,omitempty"`
	Message     string    `json:"message"`
}

// Filter selects timeline items; empty fields match everything.
type Filter struct {
	Kind, ProcessGuid, CellID string
	// Q matches the message, case-insensitively.
	Q string
	// Limit bounds the answer (0: DefaultLimit).
	Limit int
}

// DefaultLimit is a Filter's limit when none is given; DefaultRingSize is
// how many items a Ring keeps.
const (
	DefaultLimit    = 200
	DefaultRingSize = 5000
)

func (f Filter) match(it Item) bool {
	return (f.Kind == "" || it.Kind == f.Kind) &&
		(f.ProcessGuid == "" || it.ProcessGuid == f.ProcessGuid) &&
		(f.CellID == "" || it.CellID == f.CellID) &&
		(f.Q == "" || strings.Contains(strings.ToLower(it.Message), strings.ToLower(f.Q)))
}

// Ring keeps the newest items; safe for concurrent use.
type Ring struct {
	mu    sync.Mutex
	items []Item
	next  int
	full  bool
}

// NewRing returns a ring keeping size items (DefaultRingSize when < 1).
func NewRing(size int) *Ring {
	if size < 1 {
		size = DefaultRingSize
	}
	return &Ring{items: make([]Item, size)}
}

// Add appends an item, dropping the oldest when full.
func (r *Ring) Add(it Item) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items[r.next] = it
	r.next = (r.next + 1) % len(r.items)
	if r.next == 0 {
		r.full = true
	}
}

// List returns the items matching f, newest first, at most f.Limit.
func (r *Ring) List(f Filter) []Item {
	if f.Limit < 1 {
		f.Limit = DefaultLimit
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.items)
	}
	out := []Item{}
	for i := 1; i <= n && len(out) < f.Limit; i++ {
		it := r.items[(r.next-i+len(r.items))%len(r.items)]
		if f.match(it) {
			out = append(out, it)
		}
	}
	return out
}
