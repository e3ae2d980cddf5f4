package scalebench

import (
	"slices"
	"sync"

	"code.cloudfoundry.org/bbs/models"
)

// instanceKey names one copy of an instance: process, index, presence and
// cell. The cell tells apart two EVACUATING copies of one index: when an
// instance's replacement is evacuated in turn, its cell's copy is created
// before the first cell's is removed, and both are RUNNING meanwhile.
type instanceKey struct {
	process  string
	index    int32
	presence models.ActualLRP_Presence
	cell     string
}

// keyOf is the key of the copy l is.
func keyOf(l *models.ActualLRP) instanceKey {
	return instanceKey{l.ProcessGuid, l.Index, l.Presence, l.CellId}
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
	samples   []Dip                    // the first maxDipSamples dips; guarded by mu
	replaying bool                     // Reset is rebuilding the counts; guarded by mu
}

// Dip is one fall of a process below its desired RUNNING count: the
// instance whose change caused it, and what it changed to.
type Dip struct {
	Process  string `json:"process_guid"`
	Index    int32  `json:"index"`
	Presence string `json:"presence"`
	// Event is the event that took the index's last RUNNING copy away
	// ("" when a relisting after a reconnection found the process below
	// desired).
	Event   string `json:"event,omitempty"`
	Running int    `json:"running"`
	Desired int    `json:"desired"`
}

// maxDipSamples bounds the dips Running keeps for the report.
const maxDipSamples = 20

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
	r.replaying = true
	for _, l := range lrps {
		r.set(keyOf(l), l.State == models.ActualLRPStateRunning, "")
	}
	r.replaying = false
	// Rebuilding counts up from zero is no dip; a process the listing finds
	// below desired after it had reached it is one (its events were missed).
	for p, d := range r.desired {
		n := r.byProcess[p]
		r.settle(n, d, Dip{Process: p, Index: -1, Running: n, Desired: d})
	}
}

// settle notes that dip.Process has n of its d instances RUNNING: it has
// reached its desired count, or, having reached it, it has dipped below it
// (dip says how). Called with mu held.
func (r *Running) settle(n, d int, dip Dip) {
	switch p := dip.Process; {
	case n >= d:
		r.reached[p] = true
	case r.reached[p]:
		r.dips[p]++
		r.reached[p] = false
		if len(r.samples) < maxDipSamples {
			r.samples = append(r.samples, dip)
		}
	}
}

// SampleDipsFromNow forgets the dips sampled so far, so that Dips returns
// the first ones from now on (a phase's own, not an earlier phase's).
func (r *Running) SampleDipsFromNow() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = nil
}

// Dips returns the first dips recorded (at most 20) since the counter was
// made or SampleDipsFromNow was called, in order.
func (r *Running) Dips() []Dip {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples)
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
			r.set(keyOf(l), l.State == models.ActualLRPStateRunning, e.EventType())
		}
	case *models.ActualLRPInstanceChangedEvent:
		if ev.After != nil {
			// The event names the after state's cell, or the before
			// state's when the instance was given up (unclaimed).
			r.set(instanceKey{ev.ProcessGuid, ev.Index, ev.After.Presence, ev.CellId}, ev.After.State == models.ActualLRPStateRunning,
				e.EventType()+" to "+ev.After.State)
		}
	case *models.ActualLRPInstanceRemovedEvent:
		if l := ev.ActualLrp; l != nil {
			r.set(keyOf(l), false, e.EventType())
		}
	}
}

// set records whether k is running and updates the per-index and
// per-process counts; why names the event, for the dip it may cause.
func (r *Running) set(k instanceKey, running bool, why string) {
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
	if d, ok := r.desired[k.process]; ok && !r.replaying {
		r.settle(n, d, Dip{Process: k.process, Index: k.index, Presence: k.presence.String(), Event: why, Running: n, Desired: d})
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
