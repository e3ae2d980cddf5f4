package reencrypt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/internal/ctxsleep"
)

// maxStalledBatches bounds consecutive batches that lose every row to
// concurrent writes.
const maxStalledBatches = 20

// Pacing slows a re-encryption down: smaller transactions and a pause
// after each leave more of the database to the API while a rotation runs
// (and make its progress watchable). The zero Pacing is the store's default
// batch and no pause.
type Pacing struct {
	// BatchSize is the rows re-sealed per transaction; 0 is the store's
	// default (500 on SQLite and MySQL, 2000 on PostgreSQL).
	BatchSize int
	// BatchPause is the pause after each batch that moved rows.
	BatchPause time.Duration
}

// Validate rejects negative values, naming the BBS config properties.
func (p Pacing) Validate() error {
	var errs []error
	if p.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("reencrypt_batch_size %d must not be negative (0: the store's default batch)", p.BatchSize))
	}
	if p.BatchPause < 0 {
		errs = append(errs, fmt.Errorf("reencrypt_batch_pause %s must not be negative (0: no pause)", p.BatchPause))
	}
	return errors.Join(errs...)
}

// CheckLabels fails with store.ErrUnknownKeyLabel, naming the table, when a
// row is sealed under a label ring lacks.
func CheckLabels(counts []store.LabelCount, ring *keyring.Ring) error {
	for _, c := range counts {
		if c.Rows > 0 && !ring.Has(c.Label) {
			return fmt.Errorf("%w: table %s has rows sealed under key label %q, which is not among the configured keys %v",
				store.ErrUnknownKeyLabel, c.Table, c.Label, ring.Labels())
		}
	}
	return nil
}

// stale lists the (table, label) pairs holding rows under another label
// than active.
func stale(counts []store.LabelCount, active string) []store.LabelCount {
	var out []store.LabelCount
	for _, c := range counts {
		if c.Rows > 0 && c.Label != active {
			out = append(out, c)
		}
	}
	return out
}

// All re-seals under ring's active key, batch by batch (paced by p), every
// row sealed under another label, calling progress with the running total of
// rewritten rows after each batch. Rows are rewritten only if unchanged since
// read, so a concurrent write (sealed under the active key anyway) is never
// clobbered. It returns once no table holds a row under a non-active label,
// after the store records the active label; a pause ends early, with ctx's
// error, when ctx ends.
func All(ctx context.Context, st store.Store, ring *keyring.Ring, p Pacing, progress func(done int64)) error {
	if err := p.Validate(); err != nil {
		return err
	}
	var done int64
	for {
		counts, err := st.EncryptionStatus(ctx)
		if err != nil {
			return fmt.Errorf("counting rows per key: %w", err)
		}
		if err := CheckLabels(counts, ring); err != nil {
			return err
		}
		todo := stale(counts, ring.ActiveLabel())
		if len(todo) == 0 {
			return st.RecordActiveKeyLabel(ctx)
		}
		for _, c := range todo {
			if err := label(ctx, st, c.Table, c.Label, p, &done, progress); err != nil {
				return err
			}
		}
	}
}

// label moves every row of table sealed under from to the active key.
func label(ctx context.Context, st store.Store, table, from string, p Pacing, done *int64, progress func(int64)) error {
	stalled := 0
	for {
		n, err := st.ResealBatch(ctx, table, from, p.BatchSize)
		if err != nil {
			return fmt.Errorf("re-encrypting %s rows under %q: %w", table, from, err)
		}
		if n.Read == 0 {
			return nil
		}
		*done += int64(n.Rewritten)
		if progress != nil {
			progress(*done)
		}
		if n.Rewritten > 0 {
			stalled = 0
		} else if stalled++; stalled >= maxStalledBatches {
			return fmt.Errorf("re-encrypting %s: rows keep changing underneath: %w", table, store.ErrConflict)
		}
		if err := ctxsleep.Sleep(ctx, p.BatchPause); err != nil {
			return fmt.Errorf("re-encrypting %s rows under %q: %w", table, from, err)
		}
	}
}

// Settle is the start-up policy, run once the store is open and before the
// BBS serves: a row under a label ring lacks is fatal
// (store.ErrUnknownKeyLabel); rows under other labels are re-encrypted under
// the active one before it returns, unpaced (nothing is served yet). A nil
// log discards.
func Settle(ctx context.Context, st store.Store, ring *keyring.Ring, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	counts, err := st.EncryptionStatus(ctx)
	if err != nil {
		return fmt.Errorf("counting rows per key: %w", err)
	}
	if err := CheckLabels(counts, ring); err != nil {
		return err
	}
	active := ring.ActiveLabel()
	if len(stale(counts, active)) == 0 {
		return st.RecordActiveKeyLabel(ctx)
	}
	log.Info("re-encrypting records under the active key", "active_label", active)
	start, last := time.Now(), time.Now()
	var total int64
	err = All(ctx, st, ring, Pacing{}, func(done int64) {
		total = done
		if time.Since(last) >= time.Second {
			last = time.Now()
			log.Info("re-encryption progress", "rows", done, "elapsed", time.Since(start).Round(time.Millisecond))
		}
	})
	if err != nil {
		return fmt.Errorf("re-encrypting under %q: %w", active, err)
	}
	log.Info("re-encryption complete", "active_label", active, "rows", total, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}
