package scalebench

import (
	"sync"

	"code.cloudfoundry.org/bbs/models"
)

// instanceKey names one actual LRP row: process, index and presence.
type instanceKey struct {
	process  string
	index    int32
	presence models.ActualLRP_Presence
}

type indexKey struct {
	process string
	index   int32
}

// Running counts RUNNING instances from the instance event stream, so a
// driver need not list every actual LRP to follow a ramp. It keeps one
// entry per running actual LRP, so a duplicated or replayed event does not
// skew the count; a missed one does until Reset. It is safe for
// concurrent use.
type Running struct {
	mu        sync.Mutex
	running   map[instanceKey]struct{} // guarded by mu
	byIndex   map[indexKey]int         // running presences per index; guarded by mu
	byProcess map[string]int           // indexes with a running presence; guarded by mu
	desired   map[string]int           // guarded by mu
	reached   map[string]bool          // process reached desired; guarded by mu
	dips      map[string]int           // falls below desired after reaching it; guarded by mu
}

// NewRunning returns an empty counter.
func NewRunning() *Running {
	r := &Running{}
	r.reset()
	return r
}

func (r *Running) reset() {
	r.running = map[instanceKey]struct{}{}
	r.byIndex = map[indexKey]int{}
	r.byProcess = map[string]int{}
	if r.desired == nil {
		r.desired, r.reached, r.dips = map[string]int{}, map[string]bool{}, map[string]int{}
	}
}

// Reset replaces the state with a listing of actual LRPs (e.g. after the
// stream reconnected). Desired counts and dips are kept.
func (r *Running) Reset(lrps []*models.ActualLRP) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reset()
	for _, l := range lrps {
		r.set(instanceKey{l.ProcessGuid, l.Index, l.Presence}, l.State == models.ActualLRPStateRunning)
	}
}

// SetDesired declares process's desired instance count, so Dips can tell
// when its RUNNING instances fall below it after having reached it.
func (r *Running) SetDesired(process string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.desired[process] = n
	r.reached[process] = r.byProcess[process] >= n
}

// Observe applies one event; events other than actual LRP instance events
// are ignored.
func (r *Running) Observe(e models.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := e.(type) {
	case *models.ActualLRPInstanceCreatedEvent:
		if l := ev.ActualLrp; l != nil {
			r.set(instanceKey{l.ProcessGuid, l.Index, l.Presence}, l.State == models.ActualLRPStateRunning)
		}
	case *models.ActualLRPInstanceChangedEvent:
		if ev.After != nil {
			r.set(instanceKey{ev.ProcessGuid, ev.Index, ev.After.Presence}, ev.After.State == models.ActualLRPStateRunning)
		}
	case *models.ActualLRPInstanceRemovedEvent:
		if l := ev.ActualLrp; l != nil {
			r.set(instanceKey{l.ProcessGuid, l.Index, l.Presence}, false)
		}
	}
}

// set records whether k is running and updates the per-index and
// per-process counts.
func (r *Running) set(k instanceKey, running bool) {
	_, was := r.running[k]
	if was == running {
		return
	}
	ik := indexKey{k.process, k.index}
	if running {
		r.running[k] = struct{}{}
		r.byIndex[ik]++
		if r.byIndex[ik] == 1 {
			r.byProcess[k.process]++
		}
	} else {
		delete(r.running, k)
		r.byIndex[ik]--
		if r.byIndex[ik] == 0 {
			delete(r.byIndex, ik)
			r.byProcess[k.process]--
		}
	}
	n := r.byProcess[k.process]
	if d, ok := r.desired[k.process]; ok {
		switch {
		case n >= d:
			r.reached[k.process] = true
		case r.reached[k.process]:
			r.dips[k.process]++
			r.reached[k.process] = false
		}
	}
	if n == 0 {
		delete(r.byProcess, k.process)
	}
}

// RunningCounts are the counter's figures.
type RunningCounts struct {
	// LRPs counts running actual LRPs, evacuating and suspect copies
	// included; Indexes counts process indexes with at least one.
	LRPs    int `json:"running_lrps"`
	Indexes int `json:"running_indexes"`
	// Dips counts a declared process falling below its desired count after
	// having reached it; DippedProcesses how many processes ever did.
	Dips            int `json:"dips"`
	DippedProcesses int `json:"dipped_processes"`
}

// Counts returns the current figures.
func (r *Running) Counts() RunningCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := RunningCounts{LRPs: len(r.running), Indexes: len(r.byIndex), DippedProcesses: len(r.dips)}
	for _, n := range r.dips {
		c.Dips += n
	}
	return c
}

// Process returns how many of process's indexes are running.
func (r *Running) Process(process string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byProcess[process]
}
