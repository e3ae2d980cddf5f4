// Package cell keeps a rep cell's identity and capacity ledger: its total resources and the containers reserved, starting, running or completed on it.
package cell

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

// ReservationTTL is how long a reservation may stay unstarted before Expire drops it (the reference's 1 minute).
const ReservationTTL = time.Minute

// Errors returned by the ledger's transitions.
var (
	ErrNotFound          = errors.New("cell: no such reservation")
	ErrInvalidTransition = errors.New("cell: invalid reservation transition")
)

// Identity is what a cell says about itself in its state.
type Identity struct {
	CellID                string
	CellIndex             int
	RepURL                string
	Zone                  string
	RootFSProviders       rep.RootFSProviders
	VolumeDrivers         []string
	PlacementTags         []string
	OptionalPlacementTags []string
}

// Kind tells an LRP instance reservation from a task reservation.
type Kind int

// The kinds of reservation.
const (
	KindLRP Kind = iota + 1
	KindTask
)

func (k Kind) String() string {
	switch k {
	case KindLRP:
		return "lrp"
	case KindTask:
		return "task"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Phase is where a reserved container is in its lifecycle; it only moves forward.
type Phase int

// The phases, in lifecycle order.
const (
	Reserved Phase = iota + 1
	Initializing
	Created
	Running
	Completed
)

func (p Phase) String() string {
	switch p {
	case Reserved:
		return "reserved"
	case Initializing:
		return "initializing"
	case Created:
		return "created"
	case Running:
		return "running"
	case Completed:
		return "completed"
	}
	return fmt.Sprintf("phase(%d)", int(p))
}

// starting reports whether the phase counts toward the starting container count.
func (p Phase) starting() bool { return p == Reserved || p == Initializing || p == Created }

// Reservation is one container's hold on the cell's resources. It holds them in
// every phase, completed included, until Release (as the reference executor
// keeps a completed container's resources until it is deleted).
type Reservation struct {
	Kind Kind
	// Guid is the LRP instance guid or the task guid.
	Guid       string
	LRP        rep.LRP  // set for KindLRP
	Task       rep.Task // set for KindTask
	Phase      Phase
	Failed     bool // set by Complete
	ReservedAt time.Time
	seq        uint64
	// enc is the LRP's JSON as /state shows it in phase encPhase (with
	// encFailed), kept by StateJSON until the reservation moves.
	enc       []byte
	encPhase  Phase
	encFailed bool
}

// Resource is what the reservation holds.
func (r *Reservation) Resource() rep.Resource {
	if r.Kind == KindLRP {
		return r.LRP.Resource
	}
	return r.Task.Resource
}

type key struct {
	kind Kind
	guid string
}

// Ledger is a cell's identity and capacity accounting. It is safe for concurrent use.
type Ledger struct {
	mu         sync.Mutex
	id         Identity             // guarded by mu
	total      rep.Resources        // guarded by mu
	used       rep.Resources        // sum over res; guarded by mu
	res        map[key]*Reservation // guarded by mu
	evacuating bool                 // guarded by mu
	seq        uint64               // arrival counter for stable listings; guarded by mu
	gen        uint64               // bumped by every change State would show; guarded by mu
}

// New returns an empty ledger for a cell with the given identity and total resources.
func New(id Identity, total rep.Resources) *Ledger {
	return &Ledger{id: cloneIdentity(id), total: total, res: map[key]*Reservation{}}
}

// CellID is the cell's id.
func (l *Ledger) CellID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.id.CellID
}

// SetEvacuating marks the cell as evacuating (it then rejects all new work) or not.
func (l *Ledger) SetEvacuating(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evacuating = on
	l.gen++
}

// Evacuating reports whether the cell is evacuating.
func (l *Ledger) Evacuating() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.evacuating
}

// Reserve takes what fits of work and returns it as accepted, with the rest as
// rejected: all of it while evacuating; otherwise any LRP instance or task whose
// guid is empty, already reserved or repeated in work, or that does not fit the
// remaining memory, disk or containers. LRPs are considered largest memory
// first, as the reference rep does, then tasks in order.
func (l *Ledger) Reserve(work rep.Work, now time.Time) (accepted, rejected rep.Work) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.evacuating {
		return rep.Work{}, rep.Work{LRPs: work.LRPs, Tasks: work.Tasks}
	}
	lrps := append([]rep.LRP(nil), work.LRPs...)
	sort.SliceStable(lrps, func(i, j int) bool { return lrps[i].MemoryMB > lrps[j].MemoryMB })
	for _, lrp := range lrps {
		if l.tryReserve(key{KindLRP, lrp.InstanceGUID}, lrp.Resource, now, func(r *Reservation) { r.LRP = lrp }) {
			accepted.LRPs = append(accepted.LRPs, lrp)
		} else {
			rejected.LRPs = append(rejected.LRPs, lrp)
		}
	}
	for _, task := range work.Tasks {
		if l.tryReserve(key{KindTask, task.TaskGuid}, task.Resource, now, func(r *Reservation) { r.Task = task }) {
			accepted.Tasks = append(accepted.Tasks, task)
		} else {
			rejected.Tasks = append(rejected.Tasks, task)
		}
	}
	return accepted, rejected
}

// tryReserve adds a reservation if the guid is new and the resource fits; l.mu is held.
func (l *Ledger) tryReserve(k key, need rep.Resource, now time.Time, fill func(*Reservation)) bool {
	if k.guid == "" || need.MemoryMB < 0 || need.DiskMB < 0 {
		return false
	}
	if _, dup := l.res[k]; dup {
		return false
	}
	if l.used.MemoryMB+need.MemoryMB > l.total.MemoryMB ||
		l.used.DiskMB+need.DiskMB > l.total.DiskMB ||
		l.used.Containers+1 > l.total.Containers {
		return false
	}
	l.seq++
	l.gen++
	r := &Reservation{Kind: k.kind, Guid: k.guid, Phase: Reserved, ReservedAt: now, seq: l.seq}
	fill(r)
	l.res[k] = r
	l.used.MemoryMB += need.MemoryMB
	l.used.DiskMB += need.DiskMB
	l.used.Containers++
	return true
}

// Transition moves a reservation forward to phase to (Initializing, Created or
// Running); phases may be skipped but never revisited. Use Complete to finish.
func (l *Ledger) Transition(kind Kind, guid string, to Phase) error {
	return l.move(kind, guid, to, func(r *Reservation) bool {
		return to > r.Phase && to >= Initializing && to <= Running
	})
}

// Complete marks a reservation completed from any earlier phase, recording
// whether it failed. It keeps its resources until Release.
func (l *Ledger) Complete(kind Kind, guid string, failed bool) error {
	return l.move(kind, guid, Completed, func(r *Reservation) bool {
		if r.Phase == Completed {
			return false
		}
		r.Failed = failed
		return true
	})
}

// move sets the phase of a reservation to to if allow (which may update
// it) accepts the move.
func (l *Ledger) move(kind Kind, guid string, to Phase, allow func(*Reservation) bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.res[key{kind, guid}]
	if !ok {
		return fmt.Errorf("%s %q: %w", kind, guid, ErrNotFound)
	}
	l.gen++ // allow may change r even when it refuses
	if !allow(r) {
		return fmt.Errorf("%s %q from %s to %s: %w", kind, guid, r.Phase, to, ErrInvalidTransition)
	}
	r.Phase = to
	return nil
}

// Release drops a reservation and frees its resources, returning what it was.
func (l *Ledger) Release(kind Kind, guid string) (Reservation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := key{kind, guid}
	r, ok := l.res[k]
	if !ok {
		return Reservation{}, fmt.Errorf("%s %q: %w", kind, guid, ErrNotFound)
	}
	l.dropLocked(k, r)
	return *r, nil
}

func (l *Ledger) dropLocked(k key, r *Reservation) {
	l.gen++
	need := r.Resource()
	l.used.MemoryMB -= need.MemoryMB
	l.used.DiskMB -= need.DiskMB
	l.used.Containers--
	delete(l.res, k)
}

// Expire drops the reservations still in the Reserved phase that were made
// ReservationTTL or longer before now, and returns them in arrival order.
func (l *Ledger) Expire(now time.Time) []Reservation {
	l.mu.Lock()
	defer l.mu.Unlock()
	var dropped []Reservation
	for k, r := range l.res {
		if r.Phase == Reserved && now.Sub(r.ReservedAt) >= ReservationTTL {
			dropped = append(dropped, *r)
			l.dropLocked(k, r)
		}
	}
	sort.Slice(dropped, func(i, j int) bool { return dropped[i].seq < dropped[j].seq })
	return dropped
}

// Get returns a copy of one reservation.
func (l *Ledger) Get(kind Kind, guid string) (Reservation, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.res[key{kind, guid}]
	if !ok {
		return Reservation{}, false
	}
	return *r, true
}

// Reservations returns copies of all reservations in arrival order.
func (l *Ledger) Reservations() []Reservation {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.listLocked()
}

func (l *Ledger) listLocked() []Reservation {
	sorted := l.sortedLocked()
	out := make([]Reservation, len(sorted))
	for i, r := range sorted {
		out[i] = *r
	}
	return out
}

// sortedLocked is the reservations in arrival order; l.mu is held.
func (l *Ledger) sortedLocked() []*Reservation {
	out := make([]*Reservation, 0, len(l.res))
	for _, r := range l.res {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Reservation) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// State is the cell's state as GET /state reports it: available is total minus
// every held reservation, the starting count is the reservations reserved,
// initializing or created, and LRP and task states follow the reference rep
// (LRPs CLAIMED until running, then RUNNING, then SHUTDOWN or CRASHED; tasks
// RUNNING until COMPLETED). It does not expire anything: call Expire for that.
func (l *Ledger) State(now time.Time) rep.CellState {
	st, _ := l.StateGen(now)
	return st
}

// Generation changes whenever State would (see StateGen).
func (l *Ledger) Generation() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// StateGen is State with the ledger's generation, which changes whenever
// the state would: a caller may keep what it made of a state until the
// generation moves (the rep's API keeps the encoded /state).
func (l *Ledger) StateGen(now time.Time) (rep.CellState, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, gen, _ := l.stateLocked(now, true)
	return st, gen
}

// stateLocked is StateGen with l.mu held, and the reservations in arrival
// order; without lrps, the state's LRP list is empty (StateJSON fills it
// in).
func (l *Ledger) stateLocked(now time.Time, lrps bool) (rep.CellState, uint64, []*Reservation) {
	_ = now // reserved for time-dependent fields; kept so callers pass their clock
	avail := rep.Resources{
		MemoryMB:   l.total.MemoryMB - l.used.MemoryMB,
		DiskMB:     l.total.DiskMB - l.used.DiskMB,
		Containers: l.total.Containers - l.used.Containers,
	}
	lrpList := []rep.LRP{}
	tasks := []rep.Task{}
	starting := 0
	sorted := l.sortedLocked()
	for _, r := range sorted {
		if r.Phase.starting() {
			starting++
		}
		switch r.Kind {
		case KindLRP:
			if lrps {
				lrp := r.LRP
				lrp.State = lrpState(*r)
				lrpList = append(lrpList, lrp)
			}
		case KindTask:
			task := r.Task
			task.State = models.Task_Running
			if r.Phase == Completed {
				task.State = models.Task_Completed
				task.Failed = r.Failed
			}
			tasks = append(tasks, task)
		}
	}
	id := cloneIdentity(l.id)
	return rep.NewCellState(id.CellID, id.CellIndex, id.RepURL, id.RootFSProviders,
		avail, l.total, lrpList, tasks, id.Zone, starting, l.evacuating,
		id.VolumeDrivers, id.PlacementTags, id.OptionalPlacementTags, 0), l.gen, sorted
}

func lrpState(r Reservation) string {
	switch r.Phase {
	case Running:
		return models.ActualLRPStateRunning
	case Completed:
		if r.Failed {
			return models.ActualLRPStateCrashed
		}
		return "SHUTDOWN"
	}
	return models.ActualLRPStateClaimed
}

func cloneIdentity(id Identity) Identity {
	id.VolumeDrivers = append([]string(nil), id.VolumeDrivers...)
	id.PlacementTags = append([]string(nil), id.PlacementTags...)
	id.OptionalPlacementTags = append([]string(nil), id.OptionalPlacementTags...)
	if id.RootFSProviders != nil {
		p := make(rep.RootFSProviders, len(id.RootFSProviders))
		for k, v := range id.RootFSProviders {
			p[k] = v
		}
		id.RootFSProviders = p
	}
	return id
}
