// Package desiredcache keeps every desired LRP, decrypted and encoded, in the
// serving BBS's memory, so desired LRP and scheduling info reads never touch
// the database. It wraps a store.Store: writes still go through the
// database's transactions and reach the cache only once committed.
package desiredcache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/metricsguid"
)

// tombstoneTTL is how long a deletion is remembered, so that a put which
// committed earlier but is applied late cannot resurrect the entry.
const tombstoneTTL = time.Minute

// entry is one desired LRP. Its byte slices are immutable once stored.
type entry struct {
	seq    uint64
	domain string
	// served is the proto models.DesiredLRP as stored, its first stored
	// bytes, followed by the fields the reference's reads add
	// (metricsguid.Append), so lists serve it without looking into it.
	served  []byte
	stored  int
	sched   []byte // proto models.DesiredLRPSchedulingInfo
	deleted time.Time
}

// newEntry makes the entry of an encoded desired LRP and its scheduling info
// (both owned by the entry from now on).
func newEntry(seq uint64, domain string, desired, sched []byte) (*entry, error) {
	e := &entry{seq: seq, domain: domain, sched: sched}
	return e, e.setDesired(desired)
}

// setDesired keeps the encoded desired LRP pb (owned by the entry from now on).
func (e *entry) setDesired(pb []byte) error {
	served, err := metricsguid.Append(pb, pb)
	if err != nil {
		return err
	}
	e.served, e.stored = served, len(pb)
	return nil
}

// desired is the desired LRP as stored (capped: an append cannot reach the fill).
func (e *entry) desired() []byte { return e.served[:e.stored:e.stored] }

// Store is a store.Store whose desired LRP reads are served from memory.
type Store struct {
	store.Store
	seq atomic.Uint64

	mu         sync.RWMutex
	entries    map[string]*entry // guarded by mu; tombstones have deleted set
	sorted     []string          // guarded by mu; live guids in order, nil when stale
	tombstones []string          // guarded by mu; guids deleted, oldest first
}

// New loads every desired LRP from inner and returns the caching store.
func New(ctx context.Context, inner store.Store) (*Store, error) {
	c := &Store{Store: inner, entries: map[string]*entry{}}
	err := inner.EachSchedulingInfo(ctx, store.DesiredFilter{}, func(pb []byte) error {
		var si models.DesiredLRPSchedulingInfo
		if err := proto.Unmarshal(pb, &si); err != nil {
			return fmt.Errorf("decoding scheduling info: %w", err)
		}
		c.entries[si.ProcessGuid] = &entry{domain: si.Domain, sched: slices.Clone(pb)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading scheduling infos: %w", err)
	}
	err = inner.EachDesiredLRP(ctx, store.DesiredFilter{}, func(pb []byte) error {
		guid, err := processGuid(pb)
		if err != nil {
			return err
		}
		if e := c.entries[guid]; e != nil {
			return e.setDesired(slices.Clone(pb))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading desired LRPs: %w", err)
	}
	for guid, e := range c.entries {
		if e.served == nil { // written between the two scans; the next write fixes it, but be exact now
			d, err := inner.DesiredLRP(ctx, guid)
			if err != nil {
				return nil, fmt.Errorf("loading desired LRP %s: %w", guid, err)
			}
			full, err := proto.Marshal(d)
			if err != nil {
				return nil, err
			}
			if err := e.setDesired(full); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// Len is the number of desired LRPs cached.
func (c *Store) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	for _, e := range c.entries {
		if e.deleted.IsZero() {
			n++
		}
	}
	return n
}

// change is a committed-or-pending write to one desired LRP.
type change struct {
	seq  uint64
	guid string
	e    *entry // nil for a delete
}

// Update runs fn through the inner store, recording the desired LRP writes it
// makes; once the transaction commits they are applied to the cache.
func (c *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	var pending []change
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		pending = pending[:0]
		return fn(&recordingTx{Tx: tx, c: c, pending: &pending})
	})
	if err != nil {
		if len(pending) > 0 {
			// Rolled back, or a commit whose outcome is unknown: re-read the truth.
			c.refresh(ctx, pending)
		}
		return err
	}
	c.apply(pending)
	return nil
}

// refresh reloads the given guids from the database.
func (c *Store) refresh(ctx context.Context, changes []change) {
	fixed := make([]change, 0, len(changes))
	for _, ch := range changes {
		d, err := c.Store.DesiredLRP(ctx, ch.guid)
		seq := c.seq.Add(1)
		switch {
		case err == nil:
			full, merr := proto.Marshal(d)
			si := d.DesiredLRPSchedulingInfo()
			sched, serr := proto.Marshal(&si)
			if merr != nil || serr != nil {
				continue
			}
			e, err := newEntry(seq, d.Domain, full, sched)
			if err != nil {
				continue
			}
			fixed = append(fixed, change{seq: seq, guid: ch.guid, e: e})
		case errors.Is(err, store.ErrNotFound):
			fixed = append(fixed, change{seq: seq, guid: ch.guid})
		}
	}
	c.apply(fixed)
}

func (c *Store) apply(changes []change) {
	if len(changes) == 0 {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range changes {
		old := c.entries[ch.guid]
		if old != nil && old.seq > ch.seq {
			continue // a later commit already landed
		}
		if ch.e == nil {
			c.entries[ch.guid] = &entry{seq: ch.seq, deleted: now}
			c.tombstones = append(c.tombstones, ch.guid)
		} else {
			c.entries[ch.guid] = ch.e
		}
		if old == nil || !old.deleted.IsZero() || ch.e == nil {
			c.sorted = nil // the set of live guids changed
		}
	}
	// forget tombstones older than tombstoneTTL (the queue is in deletion order)
	for len(c.tombstones) > 0 {
		g := c.tombstones[0]
		e := c.entries[g]
		if e != nil && !e.deleted.IsZero() && now.Sub(e.deleted) <= tombstoneTTL {
			break
		}
		if e != nil && !e.deleted.IsZero() {
			delete(c.entries, g)
		}
		c.tombstones = c.tombstones[1:]
	}
}

// recordingTx passes writes through and notes them. The sequence number is
// taken after the database write, i.e. while the row is locked, so a later
// writer of the same row always gets a larger one.
type recordingTx struct {
	store.Tx
	c       *Store
	pending *[]change
}

func (r *recordingTx) put(d *models.DesiredLRP) error {
	full, err := proto.Marshal(d)
	if err != nil {
		return err
	}
	si := d.DesiredLRPSchedulingInfo()
	sched, err := proto.Marshal(&si)
	if err != nil {
		return err
	}
	seq := r.c.seq.Add(1)
	e, err := newEntry(seq, d.Domain, full, sched)
	if err != nil {
		return err
	}
	*r.pending = append(*r.pending, change{seq: seq, guid: d.ProcessGuid, e: e})
	return nil
}

func (r *recordingTx) InsertDesiredLRP(d *models.DesiredLRP) error {
	if err := r.Tx.InsertDesiredLRP(d); err != nil {
		return err
	}
	return r.put(d)
}

func (r *recordingTx) UpdateDesiredLRP(d *models.DesiredLRP) error {
	if err := r.Tx.UpdateDesiredLRP(d); err != nil {
		return err
	}
	return r.put(d)
}

func (r *recordingTx) DeleteDesiredLRP(guid string) error {
	if err := r.Tx.DeleteDesiredLRP(guid); err != nil {
		return err
	}
	*r.pending = append(*r.pending, change{seq: r.c.seq.Add(1), guid: guid})
	return nil
}

func (c *Store) live(guid string) *entry {
	if e := c.entries[guid]; e != nil && e.deleted.IsZero() {
		return e
	}
	return nil
}

// DesiredLRP returns one desired LRP from memory.
func (c *Store) DesiredLRP(_ context.Context, guid string) (*models.DesiredLRP, error) {
	return decodeLive[models.DesiredLRP](c, guid, "desired LRP", (*entry).desired)
}

// SchedulingInfo returns one scheduling info from memory.
func (c *Store) SchedulingInfo(_ context.Context, guid string) (*models.DesiredLRPSchedulingInfo, error) {
	return decodeLive[models.DesiredLRPSchedulingInfo](c, guid, "scheduling info", func(e *entry) []byte { return e.sched })
}

// decodeLive decodes pick's bytes of guid's live entry into a new T, or
// returns store.ErrNotFound; what names the record in a decoding error.
func decodeLive[T any, PT interface {
	*T
	proto.Message
}](c *Store, guid, what string, pick func(*entry) []byte) (PT, error) {
	c.mu.RLock()
	e := c.live(guid)
	c.mu.RUnlock()
	if e == nil {
		return nil, store.ErrNotFound
	}
	m := PT(new(T))
	if err := proto.Unmarshal(pick(e), m); err != nil {
		return nil, fmt.Errorf("decoding cached %s %s: %w", what, guid, err)
	}
	return m, nil
}

// EachDesiredLRP streams cached desired LRPs in process guid order, as
// stored or, with f.Served, as served.
func (c *Store) EachDesiredLRP(ctx context.Context, f store.DesiredFilter, fn func([]byte) error) error {
	if f.Served {
		return c.each(ctx, f, func(e *entry) []byte { return e.served }, fn)
	}
	return c.each(ctx, f, (*entry).desired, fn)
}

// EachSchedulingInfo streams cached scheduling infos in process guid order.
func (c *Store) EachSchedulingInfo(ctx context.Context, f store.DesiredFilter, fn func([]byte) error) error {
	return c.each(ctx, f, func(e *entry) []byte { return e.sched }, fn)
}

// each snapshots the matching payloads under the read lock (references only:
// payloads are immutable) and calls fn without holding it.
func (c *Store) each(ctx context.Context, f store.DesiredFilter, pick func(*entry) []byte, fn func([]byte) error) error {
	var out [][]byte
	match := func(g string, e *entry) bool {
		return e != nil && (f.Domain == "" || e.domain == f.Domain) && f.Range.Contains(g)
	}
	if len(f.ProcessGuids) > 0 {
		guids := slices.Compact(slices.Sorted(slices.Values(f.ProcessGuids)))
		c.mu.RLock()
		for _, g := range guids {
			if e := c.live(g); match(g, e) {
				out = append(out, pick(e))
			}
		}
		c.mu.RUnlock()
	} else {
		sorted := c.sortedGuids()
		lo, _ := slices.BinarySearch(sorted, f.Range.From)
		hi := len(sorted)
		if f.Range.To != "" {
			hi, _ = slices.BinarySearch(sorted, f.Range.To)
		}
		sorted = sorted[lo:max(lo, hi)]
		out = make([][]byte, 0, len(sorted))
		c.mu.RLock()
		for _, g := range sorted {
			if e := c.live(g); match(g, e) {
				out = append(out, pick(e))
			}
		}
		c.mu.RUnlock()
	}
	for i, pb := range out {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(pb); err != nil {
			return err
		}
	}
	return nil
}

// DesiredProcessGuids lists the cached desired LRPs' process guids, sorted.
func (c *Store) DesiredProcessGuids(context.Context) ([]string, error) {
	return slices.Clone(c.sortedGuids()), nil
}

// sortedGuids is the ordered list of live guids (shared: do not modify).
func (c *Store) sortedGuids() []string {
	c.mu.RLock()
	sorted := c.sorted
	c.mu.RUnlock()
	if sorted == nil {
		sorted = c.sortGuids()
	}
	return sorted
}

// sortGuids rebuilds the ordered list of live guids.
func (c *Store) sortGuids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sorted != nil {
		return c.sorted
	}
	s := make([]string, 0, len(c.entries))
	for g, e := range c.entries {
		if e.deleted.IsZero() {
			s = append(s, g)
		}
	}
	slices.Sort(s)
	c.sorted = s
	return s
}

// processGuid reads field 1 (process_guid) of an encoded models.DesiredLRP
// without decoding the rest.
func processGuid(pb []byte) (string, error) {
	for len(pb) > 0 {
		key, n := proto.DecodeVarint(pb)
		if n == 0 {
			return "", fmt.Errorf("malformed desired LRP encoding")
		}
		pb = pb[n:]
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			_, n = proto.DecodeVarint(pb)
		case 1:
			n = 8
		case 5:
			n = 4
		case 2:
			l, m := proto.DecodeVarint(pb)
			if m == 0 || int(l) > len(pb)-m {
				return "", fmt.Errorf("malformed desired LRP encoding")
			}
			if field == 1 {
				return string(pb[m : m+int(l)]), nil
			}
			n = m + int(l)
		default:
			return "", fmt.Errorf("malformed desired LRP encoding: wire type %d", wire)
		}
		if n == 0 || n > len(pb) {
			return "", fmt.Errorf("malformed desired LRP encoding")
		}
		pb = pb[n:]
	}
	return "", fmt.Errorf("desired LRP encoding has no process_guid")
}
