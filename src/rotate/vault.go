package rotate

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/internal/ctxsleep"
)

// ErrKeyInUse: an old key cannot be removed because rows still use it.
var ErrKeyInUse = errors.New("key still in use")

// Config is one rotation.
type Config struct {
	Vault *keyring.Vault
	// BBSAdminURLs are every BBS's API address (https://host:8889). Standbys
	// do not serve, so they cannot be reached; they re-read the key ring from
	// Vault when they take the lock.
	BBSAdminURLs []string
	// HTTPClient presents the admin client certificate.
	HTTPClient *http.Client
	// Progress receives progress lines (stderr in the CLI); nil discards.
	Progress io.Writer
	// PollInterval is how often re-encryption status is polled (default 1s;
	// each poll counts rows per key label in every encrypted table).
	PollInterval time.Duration
	// NewLabel names the new key (default key-<UTC time>-<random>).
	NewLabel func() string
	// AfterStep, for tests, runs after each step; an error stops the run
	// there, as if the process had been killed.
	AfterStep func(Step) error
}

// Result summarises a run.
type Result struct {
	ActiveLabel     string        `json:"active_label"`
	RemovedLabels   []string      `json:"removed_labels"`
	Resumed         bool          `json:"resumed"`
	RowsReencrypted int64         `json:"rows_reencrypted"`
	Reencryption    time.Duration `json:"reencryption_ns"`
	Duration        time.Duration `json:"duration_ns"`
	VaultVersion    int           `json:"vault_version"`
	// DestroyedThrough: versions 1 to this one of the key ring secret are
	// destroyed (they held the removed keys); 0 if there were none.
	DestroyedThrough int      `json:"destroyed_through_version"`
	BBSReached       []string `json:"bbs_reached"`
}

type vaultRun struct {
	cfg     Config
	d       *driver
	plan    VaultPlan
	doc     keyring.Doc
	version int
	res     Result
	// changes lists what this run changed so far, for its error message.
	changes []string
}

// Run rotates (or finishes an unfinished rotation). Bound it with ctx.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Vault == nil || cfg.HTTPClient == nil || len(cfg.BBSAdminURLs) == 0 {
		return Result{}, errors.New("rotate: Vault, HTTPClient and at least one BBS admin URL are required")
	}
	if cfg.NewLabel == nil {
		cfg.NewLabel = defaultLabel
	}
	start := time.Now()
	r := &vaultRun{cfg: cfg, d: newDriver(cfg.BBSAdminURLs, cfg.HTTPClient, cfg.Progress, cfg.PollInterval)}
	r.d.fixActive = func(ctx context.Context, _, _, _ string) error { return r.reloadAll(ctx) }
	err := r.run(ctx)
	r.res.Duration = time.Since(start)
	r.res.BBSReached = r.d.reachedURLs()
	if err != nil {
		return r.res, &RunError{Err: err, Changes: r.changes}
	}
	return r.res, nil
}

func (r *vaultRun) run(ctx context.Context) error {
	var err error
	if r.doc, r.version, err = r.cfg.Vault.Read(ctx); err != nil {
		return fmt.Errorf("reading the key ring: %w", err)
	}
	if err := r.checkPolicy(ctx); err != nil {
		return err
	}
	// Before changing anything, make sure a BBS answers and reads the same ring.
	st, url, err := r.d.statusAny(ctx, false)
	if err != nil {
		return fmt.Errorf("before rotating: %w", err)
	}
	if !slices.Contains(st.Labels, r.doc.ActiveKeyLabel) {
		return fmt.Errorf("before rotating: the BBS at %s holds keys %v, which lack Vault's active key %q: is it configured with encryption_key_source vault at %s?",
			url, st.Labels, r.doc.ActiveKeyLabel, r.cfg.Vault.Where())
	}
	if r.plan, err = PlanVault(VaultState{Active: r.doc.ActiveKeyLabel, Labels: r.doc.Labels(),
		RotatingTo: r.doc.RotatingTo, NewLabel: r.cfg.NewLabel()}); err != nil {
		return err
	}
	if r.plan.Resumed && r.doc.RotatingTo != "" {
		r.d.logf("resuming the unfinished rotation to key %q (Vault version %d, keys %v, active %q)",
			r.doc.RotatingTo, r.version, r.doc.Labels(), r.doc.ActiveKeyLabel)
	} else if r.plan.Resumed {
		r.d.logf("Vault holds keys %v with %q active: finishing the rotation to %q instead of adding another key",
			r.doc.Labels(), r.doc.ActiveKeyLabel, r.doc.ActiveKeyLabel)
	}
	r.res.Resumed = r.plan.Resumed
	return runSteps(ctx, r.d, r.plan.Steps, len(Steps), r.step, r.cfg.AfterStep)
}

// step runs one step of the plan.
func (r *vaultRun) step(ctx context.Context, s Step) error {
	target := r.plan.Target
	switch s {
	case StepAddKey: // the new key, added beside the current ones but not yet active
		next := r.doc.Clone()
		next.RotatingTo = target
		if !r.plan.AddKey {
			return r.write(ctx, next)
		}
		pass, err := newPassphrase()
		if err != nil {
			return err
		}
		next.Keys[target] = pass
		if err := r.write(ctx, next); err != nil {
			return err
		}
		r.d.logf("added key %q to Vault (version %d); %q stays active until every BBS holds it", target, r.version, r.doc.ActiveKeyLabel)
	case StepReloadNew, StepReloadActive, StepReloadFinal:
		// every BBS holds the new key before any row is sealed with it; then
		// seals with it (the serving one starts re-encrypting); then drops
		// the old keys
		return r.reloadAll(ctx)
	case StepActivate:
		if r.doc.ActiveKeyLabel != target {
			next := r.doc.Clone()
			next.ActiveKeyLabel = target
			if err := r.write(ctx, next); err != nil {
				return err
			}
			r.d.logf("key %q is active in Vault (version %d)", target, r.version)
		}
	case StepReencrypt: // re-encrypt every row and follow until none is under another label
		r.changed(fmt.Sprintf("the BBS re-encrypts rows under %q", target))
		if err := r.d.reencrypt(ctx, target); err != nil {
			return err
		}
		r.res.RowsReencrypted, r.res.Reencryption = r.d.rowsReencrypted, r.d.reencryption
	case StepRemoveOld: // remove the old keys from Vault, once provably unused
		return r.removeOld(ctx, r.plan.Old)
	case StepFinish: // done: clear the marker
		next := r.doc.Clone()
		next.RotatingTo = ""
		if err := r.write(ctx, next); err != nil {
			return err
		}
		r.res.ActiveLabel = target
		r.res.VaultVersion = r.version
	}
	return nil
}

func (r *vaultRun) removeOld(ctx context.Context, old []string) error {
	if len(old) == 0 { // removed by an earlier run: make sure the history is gone too
		return r.destroyHistory(ctx, nil)
	}
	st, url, err := r.d.statusAny(ctx, true)
	if err != nil {
		return fmt.Errorf("checking that no row uses %v before removing them: %w", old, err)
	}
	for _, c := range st.Counts {
		if c.Rows > 0 && slices.Contains(old, c.Label) {
			return fmt.Errorf("%w: refusing to remove key %q from Vault: the BBS at %s reports %d rows in %s still sealed with it",
				ErrKeyInUse, c.Label, url, c.Rows, c.Table)
		}
	}
	next := r.doc.Clone()
	for _, l := range old {
		delete(next.Keys, l)
	}
	if err := r.write(ctx, next); err != nil {
		return err
	}
	r.d.logf("removed keys %v from Vault (version %d)", old, r.version)
	r.res.RemovedLabels = old
	return r.destroyHistory(ctx, old)
}

// write stores next with check-and-set on the version read.
func (r *vaultRun) write(ctx context.Context, next keyring.Doc) error {
	v, err := r.cfg.Vault.Write(ctx, next, r.version)
	if err != nil {
		if errors.Is(err, keyring.ErrCASMismatch) {
			return fmt.Errorf("%w: another rotation or an operator changed the key ring meanwhile; nothing was overwritten, run again", err)
		}
		return err
	}
	r.doc, r.version = next, v
	r.res.VaultVersion = v
	r.changed(fmt.Sprintf("Vault holds key ring version %d (keys %v, active %q, rotating to %q)", v, next.Labels(), next.ActiveKeyLabel, next.RotatingTo))
	return nil
}

// reloadAll makes every reachable BBS reload and checks it now holds exactly
// the Vault document's ring. BBSs that do not answer are standbys (or down):
// they read Vault when they start serving. At least one must answer; while
// none does (a restart), it retries until ctx ends.
func (r *vaultRun) reloadAll(ctx context.Context) error {
	want := r.doc.Labels()
	for {
		reached := 0
		var lastErr error
		for _, u := range r.cfg.BBSAdminURLs {
			st, err := r.d.admin(ctx, http.MethodPost, u, "reload")
			if errors.Is(err, errUnreachable) {
				r.d.logf("bbs %s: not serving (a standby, or down): it reads the key ring from Vault when it starts serving", u)
				lastErr = err
				continue
			}
			if err != nil {
				return fmt.Errorf("reloading the BBS at %s: %w", u, err)
			}
			if st.ActiveLabel != r.doc.ActiveKeyLabel || !slices.Equal(st.Labels, want) {
				return fmt.Errorf("the BBS at %s reloaded keys %v with %q active, but Vault holds %v with %q active: is it reading %s?",
					u, st.Labels, st.ActiveLabel, want, r.doc.ActiveKeyLabel, r.cfg.Vault.Where())
			}
			if reached == 0 {
				r.d.pending = st.PendingRows
			}
			r.d.reached[u] = true
			reached++
		}
		if reached > 0 {
			r.d.logf("reloaded %d BBS: keys %v, active %q", reached, want, r.doc.ActiveKeyLabel)
			return nil
		}
		if err := ctxsleep.Sleep(ctx, r.d.poll); err != nil {
			return fmt.Errorf("no BBS answered the reload (%v): %w", lastErr, err)
		}
	}
}

// newPassphrase is 256 random bits (crypto/rand), base64: the ring's AES-256
// key is SHA-256 of it.
func newPassphrase() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating the new key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func defaultLabel() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "key-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
