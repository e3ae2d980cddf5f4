// Package rotate rotates the BBS's encryption key online, with the key ring
// kept in Vault: it adds a fresh 256-bit key, makes every BBS load it, makes
// it active, has the serving BBS re-encrypt every encrypted column while the
// API keeps serving, and only once the BBS reports no row under any other
// label removes the old keys from Vault and reloads again.
//
// It keeps no state of its own: each step is derived from the Vault document
// (rotating_to marks an unfinished rotation) and the BBS admin status, so a
// run killed at any point converges when run again. The diego CLI command
// rotate-encryption-key, the BOSH errand and the pipeline's rotation task are
// thin wrappers around Run.
//
// RunManifest (manifest.go) is the same rotation for keys kept in the BOSH
// manifest: two deploys (the new key, then the new key active), each
// verified through the BBS admin API, then re-encryption followed as in Run;
// where it is is derived from the BBSs' key rings.
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
	"strings"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/reencrypt"
)

// Step names a point of the rotation; AfterStep hooks run after each.
type Step int

// The steps, in order.
const (
	StepAddKey       Step = iota + 1 // the new key is in Vault, not yet active (rotating_to set)
	StepReloadNew                    // every reachable BBS holds the new key
	StepActivate                     // the new key is active in Vault
	StepReloadActive                 // every reachable BBS seals with the new key
	StepReencrypt                    // no row is sealed under another label
	StepRemoveOld                    // the old keys are gone from Vault
	StepReloadFinal                  // every reachable BBS dropped the old keys
	StepFinish                       // rotating_to cleared: the rotation is complete
)

var stepNames = map[Step]string{StepAddKey: "add-key", StepReloadNew: "reload-new-key", StepActivate: "activate",
	StepReloadActive: "reload-active", StepReencrypt: "reencrypt", StepRemoveOld: "remove-old-keys",
	StepReloadFinal: "reload-final", StepFinish: "finish"}

// Steps lists every step in order.
var Steps = []Step{StepAddKey, StepReloadNew, StepActivate, StepReloadActive, StepReencrypt, StepRemoveOld, StepReloadFinal, StepFinish}

func (s Step) String() string { return stepNames[s] }

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
	BBSReached      []string      `json:"bbs_reached"`
}

type run struct {
	cfg     Config
	pending int64 // rows under other labels reported by the last reload
	doc     keyring.Doc
	version int
	res     Result
	reached map[string]bool
	// fixActive handles a BBS found sealing with another key than the
	// target during re-encryption (default: reload every BBS from Vault).
	fixActive func(ctx context.Context, url, active, target string) error
}

// Run rotates (or finishes an unfinished rotation). Bound it with ctx.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Vault == nil || cfg.HTTPClient == nil || len(cfg.BBSAdminURLs) == 0 {
		return Result{}, errors.New("rotate: Vault, HTTPClient and at least one BBS admin URL are required")
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.NewLabel == nil {
		cfg.NewLabel = defaultLabel
	}
	start := time.Now()
	r := &run{cfg: cfg, reached: map[string]bool{}}
	err := r.run(ctx)
	r.res.Duration = time.Since(start)
	for _, u := range cfg.BBSAdminURLs {
		if r.reached[u] {
			r.res.BBSReached = append(r.res.BBSReached, u)
		}
	}
	return r.res, err
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (r *run) after(s Step) error {
	r.logf("step %d/%d %s: done", int(s), len(Steps), s)
	if r.cfg.AfterStep != nil {
		return r.cfg.AfterStep(s)
	}
	return nil
}

func (r *run) run(ctx context.Context) error {
	var err error
	if r.doc, r.version, err = r.cfg.Vault.Read(ctx); err != nil {
		return fmt.Errorf("reading the key ring (nothing changed): %w", err)
	}
	// Before changing anything, make sure a BBS answers and reads the same ring.
	st, url, err := r.statusAny(ctx, false)
	if err != nil {
		return fmt.Errorf("before rotating (nothing changed): %w", err)
	}
	if !slices.Contains(st.Labels, r.doc.ActiveKeyLabel) {
		return fmt.Errorf("before rotating (nothing changed): the BBS at %s holds keys %v, which lack Vault's active key %q: is it configured with encryption_key_source vault at %s?",
			url, st.Labels, r.doc.ActiveKeyLabel, r.cfg.Vault.Where())
	}

	// 1. the new key, added beside the current ones but not yet active.
	switch {
	case r.doc.RotatingTo != "":
		r.res.Resumed = true
		r.logf("resuming the unfinished rotation to key %q (Vault version %d, keys %v, active %q)",
			r.doc.RotatingTo, r.version, r.doc.Labels(), r.doc.ActiveKeyLabel)
	case len(r.doc.Keys) > 1:
		r.res.Resumed = true
		r.logf("Vault holds keys %v with %q active: finishing the rotation to %q instead of adding another key",
			r.doc.Labels(), r.doc.ActiveKeyLabel, r.doc.ActiveKeyLabel)
		next := r.doc.Clone()
		next.RotatingTo = next.ActiveKeyLabel
		if err := r.write(ctx, next); err != nil {
			return err
		}
		if err := r.after(StepAddKey); err != nil {
			return err
		}
	default:
		label := r.cfg.NewLabel()
		if _, dup := r.doc.Keys[label]; dup {
			return fmt.Errorf("the new key label %q is already in Vault (nothing changed)", label)
		}
		pass, err := newPassphrase()
		if err != nil {
			return err
		}
		next := r.doc.Clone()
		next.Keys[label] = pass
		next.RotatingTo = label
		if err := r.write(ctx, next); err != nil {
			return err
		}
		r.logf("added key %q to Vault (version %d); %q stays active until every BBS holds it", label, r.version, r.doc.ActiveKeyLabel)
		if err := r.after(StepAddKey); err != nil {
			return err
		}
	}
	target := r.doc.RotatingTo

	// 2. every BBS holds the new key before any row is sealed with it.
	if err := r.reloadAll(ctx); err != nil {
		return err
	}
	if err := r.after(StepReloadNew); err != nil {
		return err
	}

	// 3. make it active.
	if r.doc.ActiveKeyLabel != target {
		next := r.doc.Clone()
		next.ActiveKeyLabel = target
		if err := r.write(ctx, next); err != nil {
			return err
		}
		r.logf("key %q is active in Vault (version %d)", target, r.version)
	}
	if err := r.after(StepActivate); err != nil {
		return err
	}

	// 4. every BBS seals with it (the serving one starts re-encrypting).
	if err := r.reloadAll(ctx); err != nil {
		return err
	}
	if err := r.after(StepReloadActive); err != nil {
		return err
	}

	// 5. re-encrypt every row and follow until none is under another label.
	if err := r.reencrypt(ctx, target); err != nil {
		return err
	}
	if err := r.after(StepReencrypt); err != nil {
		return err
	}

	// 6. remove the old keys from Vault, once provably unused.
	old := slices.DeleteFunc(r.doc.Labels(), func(l string) bool { return l == target })
	if len(old) > 0 {
		st, url, err := r.statusAny(ctx, true)
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
		r.logf("removed keys %v from Vault (version %d)", old, r.version)
		r.res.RemovedLabels = old
	}
	if err := r.after(StepRemoveOld); err != nil {
		return err
	}

	// 7. every BBS drops them.
	if err := r.reloadAll(ctx); err != nil {
		return err
	}
	if err := r.after(StepReloadFinal); err != nil {
		return err
	}

	// 8. done: clear the marker.
	next := r.doc.Clone()
	next.RotatingTo = ""
	if err := r.write(ctx, next); err != nil {
		return err
	}
	r.res.ActiveLabel = target
	r.res.VaultVersion = r.version
	return r.after(StepFinish)
}

// write stores next with check-and-set on the version read.
func (r *run) write(ctx context.Context, next keyring.Doc) error {
	v, err := r.cfg.Vault.Write(ctx, next, r.version)
	if err != nil {
		if errors.Is(err, keyring.ErrCASMismatch) {
			return fmt.Errorf("%w: another rotation or an operator changed the key ring meanwhile; nothing was overwritten, run again", err)
		}
		return err
	}
	r.doc, r.version = next, v
	r.res.VaultVersion = v
	return nil
}

// reloadAll makes every reachable BBS reload and checks it now holds exactly
// the Vault document's ring. BBSs that do not answer are standbys (or down):
// they read Vault when they start serving. At least one must answer; while
// none does (a restart), it retries until ctx ends.
func (r *run) reloadAll(ctx context.Context) error {
	want := r.doc.Labels()
	for {
		reached := 0
		var lastErr error
		for _, u := range r.cfg.BBSAdminURLs {
			st, err := r.admin(ctx, http.MethodPost, u, "reload")
			if errors.Is(err, errUnreachable) {
				r.logf("bbs %s: not serving (a standby, or down): it reads the key ring from Vault when it starts serving", u)
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
				r.pending = st.PendingRows
			}
			r.reached[u] = true
			reached++
		}
		if reached > 0 {
			r.logf("reloaded %d BBS: keys %v, active %q", reached, want, r.doc.ActiveKeyLabel)
			return nil
		}
		if err := sleep(ctx, r.cfg.PollInterval); err != nil {
			return fmt.Errorf("no BBS answered the reload (%v): %w", lastErr, err)
		}
	}
}

// reencrypt starts re-encryption where needed and polls until no row is
// sealed under a label other than target, reporting progress. It survives
// BBS restarts (polling until one answers again) and restarts a
// re-encryption that stopped with rows pending.
func (r *run) reencrypt(ctx context.Context, target string) error {
	start := time.Now()
	lastLine := time.Time{}
	var total int64
	firstPending := r.pending // as the activating reload reported it
	failures := 0
	for {
		st, url, err := r.statusAny(ctx, true)
		if err != nil {
			return fmt.Errorf("following re-encryption: %w", err)
		}
		if st.ActiveLabel != target {
			// a BBS that restarted from an old config, or missed the reload
			r.logf("bbs %s has %q active, not %q: reloading it", url, st.ActiveLabel, target)
			fix := r.fixActive
			if fix == nil {
				fix = func(ctx context.Context, _, _, _ string) error { return r.reloadAll(ctx) }
			}
			if err := fix(ctx, url, st.ActiveLabel, target); err != nil {
				return err
			}
			continue
		}
		if st.RowsReencrypted > total {
			total = st.RowsReencrypted
		}
		if st.PendingRows == 0 && !st.Running {
			r.res.RowsReencrypted = max(total, firstPending)
			r.res.Reencryption = time.Since(start)
			r.logf("re-encryption complete: no row is sealed under another key than %q (%d rows in %s)",
				target, r.res.RowsReencrypted, r.res.Reencryption.Round(time.Millisecond))
			return nil
		}
		if !st.Running {
			if st.LastError != "" {
				failures++
				r.logf("bbs %s: re-encryption stopped: %s", url, st.LastError)
				if failures > 10 {
					return fmt.Errorf("re-encryption keeps failing on the BBS at %s: %s", url, st.LastError)
				}
			}
			if _, err := r.admin(ctx, http.MethodPost, url, "reencrypt"); err != nil && !errors.Is(err, errUnreachable) {
				return fmt.Errorf("starting re-encryption on the BBS at %s: %w", url, err)
			}
		}
		if time.Since(lastLine) >= time.Second {
			lastLine = time.Now()
			rate := float64(st.RowsReencrypted) / max(time.Since(start).Seconds(), 0.001)
			r.logf("re-encrypting under %q: %d rows pending, %d re-encrypted (%.0f rows/s)", target, st.PendingRows, st.RowsReencrypted, rate)
		}
		if err := sleep(ctx, r.cfg.PollInterval); err != nil {
			return fmt.Errorf("re-encryption did not finish: %d rows still pending: %w", st.PendingRows, err)
		}
	}
}

// statusAny returns the status of the first BBS that answers. With wait it
// retries until ctx ends while none answers.
func (r *run) statusAny(ctx context.Context, wait bool) (reencrypt.Status, string, error) {
	for {
		var errs []string
		for _, u := range r.cfg.BBSAdminURLs {
			st, err := r.admin(ctx, http.MethodGet, u, "status")
			if err == nil {
				r.reached[u] = true
				return st, u, nil
			}
			if !errors.Is(err, errUnreachable) {
				return st, u, fmt.Errorf("the BBS at %s: %w", u, err)
			}
			errs = append(errs, err.Error())
		}
		if !wait {
			return reencrypt.Status{}, "", fmt.Errorf("no BBS answered: %s", strings.Join(errs, "; "))
		}
		r.logf("no BBS answered (restarting?); retrying")
		if err := sleep(ctx, r.cfg.PollInterval); err != nil {
			return reencrypt.Status{}, "", fmt.Errorf("no BBS answered (%s): %w", strings.Join(errs, "; "), err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
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
