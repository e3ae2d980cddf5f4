// Package reencrypt is the BBS's re-encryption policy: it decides when the key
// ring may change (never dropping a key rows still use) and re-seals every
// encrypted row under the active key, at start-up and online after a reload,
// batch by batch through the store's ResealBatch (online, paced as configured).
package reencrypt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/store"
)

// Status is what the admin API reports.
type Status struct {
	ActiveLabel     string             `json:"active_label"`
	Labels          []string           `json:"labels"`
	Running         bool               `json:"reencryption_running"`
	RowsReencrypted int64              `json:"rows_reencrypted"`
	PendingRows     int64              `json:"pending_rows"`
	LastError       string             `json:"last_error,omitempty"`
	LastFinished    *time.Time         `json:"last_finished,omitempty"`
	Counts          []store.LabelCount `json:"counts"`
}

// Policy owns key reloads and background re-encryption.
type Policy struct {
	ring   *keyring.Ring
	store  store.Store
	load   keyring.Loader
	pacing Pacing
	log    *slog.Logger

	// stop ends the pauses of a paced re-encryption (Stop); an unpaced one
	// runs to its end.
	stop   context.Context
	cancel context.CancelFunc

	mu       sync.Mutex // guards running, lastErr, finished
	running  bool
	lastErr  string
	finished *time.Time
	done     atomic.Int64
	wg       sync.WaitGroup

	// batch is held across each background batch and the count of done
	// rows it adds, and across Status's count of pending rows: done +
	// pending then adds up to the rows the re-encryption started with,
	// never a batch too many or too few (a progress bar's total).
	batch sync.Mutex
}

// countingStore is the store as the background re-encryption uses it: each
// batch adds its rewritten rows to done under m.batch.
type countingStore struct {
	store.Store
	m *Policy
}

func (c countingStore) ResealBatch(ctx context.Context, table, from string, limit int) (store.Resealed, error) {
	c.m.batch.Lock()
	defer c.m.batch.Unlock()
	n, err := c.Store.ResealBatch(ctx, table, from, limit)
	if err == nil {
		c.m.done.Add(int64(n.Rewritten))
	}
	return n, err
}

// New builds a Policy whose online re-encryption is paced by pacing (the
// zero Pacing: the store's batches, no pause).
func New(ring *keyring.Ring, st store.Store, load keyring.Loader, pacing Pacing, log *slog.Logger) (*Policy, error) {
	if err := pacing.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	stop, cancel := context.WithCancel(context.Background())
	return &Policy{ring: ring, store: st, load: load, pacing: pacing, log: log, stop: stop, cancel: cancel}, nil
}

// ErrKeyInUse: a reload would drop a key that rows are still sealed under.
var ErrKeyInUse = errors.New("rotation: key still in use")

// Settle is the policy at start-up, run once the store is open and before
// serving: a row under a label the ring lacks is fatal
// (store.ErrUnknownKeyLabel), and rows under other labels of the ring are
// re-encrypted under the active one before it returns.
func (m *Policy) Settle(ctx context.Context) error {
	return Settle(ctx, m.store, m.ring, m.log)
}

// ReloadKeys re-reads the configured keys and swaps them into the ring. It
// refuses to drop a label that any row still uses, and starts re-encryption
// when rows are sealed under a label other than the new active one.
func (m *Policy) ReloadKeys(ctx context.Context) (Status, error) {
	if m.load == nil {
		return m.Status(ctx)
	}
	keys, active, err := m.load(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("loading keys: %w", err)
	}
	counts, err := m.store.EncryptionStatus(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("counting rows per key: %w", err)
	}
	for _, c := range counts {
		if _, ok := keys[c.Label]; !ok && c.Rows > 0 {
			return Status{}, fmt.Errorf("%w: refusing to drop key %q: %d rows in %s are still encrypted with it; keep it until re-encryption reports no pending rows",
				ErrKeyInUse, c.Label, c.Rows, c.Table)
		}
	}
	if err := m.ring.Replace(keys, active); err != nil {
		return Status{}, err
	}
	m.log.Info("encryption keys reloaded", "active", active, "labels", m.ring.Labels())
	if pending(counts, active) > 0 {
		return m.StartReencrypt(ctx)
	}
	return m.Status(ctx)
}

// ReloadOnAcquire re-reads the key ring when a standby takes the lock:
// while it stood by, a rotation may have added a key that rows are now
// sealed under. If the source cannot be read, it serves on with the ring it
// has only when that ring opens every row; otherwise it fails.
func (m *Policy) ReloadOnAcquire(ctx context.Context) error {
	_, err := m.ReloadKeys(ctx)
	if err == nil {
		return nil
	}
	counts, cerr := m.store.EncryptionStatus(ctx)
	if cerr != nil {
		return err
	}
	for _, c := range counts {
		if c.Rows > 0 && !m.ring.Has(c.Label) {
			return fmt.Errorf("%w (and the key ring loaded at start lacks %q, used by %d rows in %s)", err, c.Label, c.Rows, c.Table)
		}
	}
	m.log.Error("could not reload the encryption key ring on taking the lock; serving with the ring loaded before, which opens every row", "err", err)
	return nil
}

// StartReencrypt starts re-encryption in the background unless it runs already.
func (m *Policy) StartReencrypt(ctx context.Context) (Status, error) {
	m.mu.Lock()
	if !m.running {
		m.running = true
		m.lastErr = ""
		m.done.Store(0)
		m.wg.Add(1)
		go m.reencrypt()
	}
	m.mu.Unlock()
	return m.Status(ctx)
}

func (m *Policy) reencrypt() {
	defer m.wg.Done()
	start := time.Now()
	ctx := context.Background()
	if m.pacing.BatchPause > 0 {
		ctx = m.stop // Stop cuts a paused re-encryption short; the next BBS to lead resumes it
	}
	err := All(ctx, countingStore{Store: m.store, m: m}, m.ring, m.pacing, func(done int64) {
		m.log.Info("re-encryption progress", "rows", done)
	})
	now := time.Now()
	m.mu.Lock()
	m.running = false
	m.finished = &now
	if err != nil {
		m.lastErr = err.Error()
	}
	m.mu.Unlock()
	if err != nil {
		m.log.Error("re-encryption failed", "err", err)
		return
	}
	m.log.Info("re-encryption finished", "rows", m.done.Load(), "active", m.ring.ActiveLabel(), "duration", time.Since(start))
}

// Wait blocks until a running re-encryption ends.
func (m *Policy) Wait() { m.wg.Wait() }

// Stop ends a paced re-encryption at its next pause (rows left under the
// old key are re-encrypted by the next BBS to take the lock, or at the next
// start) and waits for it; an unpaced one runs to its end first.
func (m *Policy) Stop() {
	m.cancel()
	m.wg.Wait()
}

// Status reports keys, progress and per-label row counts.
func (m *Policy) Status(ctx context.Context) (Status, error) {
	m.batch.Lock()
	counts, err := m.store.EncryptionStatus(ctx)
	done := m.done.Load()
	m.batch.Unlock()
	if err != nil {
		return Status{}, fmt.Errorf("counting rows per key: %w", err)
	}
	sort.Slice(counts, func(i, j int) bool {
		if counts[i].Table != counts[j].Table {
			return counts[i].Table < counts[j].Table
		}
		return counts[i].Label < counts[j].Label
	})
	if counts == nil {
		counts = []store.LabelCount{}
	}
	active := m.ring.ActiveLabel()
	m.mu.Lock()
	defer m.mu.Unlock()
	return Status{
		ActiveLabel: active, Labels: m.ring.Labels(), Running: m.running,
		RowsReencrypted: done, PendingRows: pending(counts, active),
		LastError: m.lastErr, LastFinished: m.finished, Counts: counts,
	}, nil
}

func pending(counts []store.LabelCount, active string) int64 {
	var n int64
	for _, c := range counts {
		if c.Label != active {
			n += c.Rows
		}
	}
	return n
}
