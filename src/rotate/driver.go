package rotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/internal/ctxsleep"
)

// driver is the one step runner of both modes: it talks to the BBS admin
// APIs, runs a plan's steps with their AfterStep hooks, and follows
// re-encryption.
type driver struct {
	urls     []string
	hc       *http.Client
	progress io.Writer
	poll     time.Duration
	reached  map[string]bool
	// pending is the rows under other labels last reported when the new key
	// became active.
	pending int64
	// fixActive handles a BBS found sealing with another key than the
	// target during re-encryption.
	fixActive func(ctx context.Context, url, active, target string) error
	// set by reencrypt
	rowsReencrypted int64
	reencryption    time.Duration
}

func newDriver(urls []string, hc *http.Client, progress io.Writer, poll time.Duration) *driver {
	if progress == nil {
		progress = io.Discard
	}
	if poll <= 0 {
		poll = time.Second
	}
	return &driver{urls: urls, hc: hc, progress: progress, poll: poll, reached: map[string]bool{}}
}

func (d *driver) logf(format string, args ...any) {
	fmt.Fprintf(d.progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// reachedURLs lists, in configuration order, the BBSs that answered.
func (d *driver) reachedURLs() []string {
	var out []string
	for _, u := range d.urls {
		if d.reached[u] {
			out = append(out, u)
		}
	}
	return out
}

// runSteps runs steps in order: do, then the AfterStep hook (an error
// stops the run there, as if the process had been killed).
func runSteps[S interface {
	~int
	String() string
}](ctx context.Context, d *driver, steps []S, total int, do func(context.Context, S) error, after func(S) error) error {
	for _, s := range steps {
		if err := do(ctx, s); err != nil {
			return err
		}
		d.logf("step %d/%d %s: done", int(s), total, s)
		if after != nil {
			if err := after(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// collect asks every BBS for its status once: all of the answers, or with
// first only the first one. An error other than "not reachable" stops it.
func (d *driver) collect(ctx context.Context, first bool) (map[string]reencrypt.Status, []string, error) {
	out := map[string]reencrypt.Status{}
	var errs []string
	for _, u := range d.urls {
		st, err := d.admin(ctx, http.MethodGet, u, "status")
		if err == nil {
			out[u] = st
			d.reached[u] = true
			if first {
				break
			}
			continue
		}
		if !errors.Is(err, errUnreachable) {
			return nil, nil, fmt.Errorf("the BBS at %s: %w", u, err)
		}
		errs = append(errs, err.Error())
	}
	return out, errs, nil
}

// statusAny returns the status of the first BBS that answers. With wait it
// retries until ctx ends while none answers.
func (d *driver) statusAny(ctx context.Context, wait bool) (reencrypt.Status, string, error) {
	for {
		sts, errs, err := d.collect(ctx, true)
		if err != nil {
			return reencrypt.Status{}, "", err
		}
		for u, st := range sts {
			return st, u, nil
		}
		if !wait {
			return reencrypt.Status{}, "", fmt.Errorf("no BBS answered: %s", strings.Join(errs, "; "))
		}
		d.logf("no BBS answered (restarting?); retrying")
		if err := ctxsleep.Sleep(ctx, d.poll); err != nil {
			return reencrypt.Status{}, "", fmt.Errorf("no BBS answered (%s): %w", strings.Join(errs, "; "), err)
		}
	}
}

// statusAll is the status of every BBS that answers; it waits up to timeout
// while none does.
func (d *driver) statusAll(ctx context.Context, timeout time.Duration) (map[string]reencrypt.Status, error) {
	deadline := time.Now().Add(timeout)
	lastLine := time.Time{}
	for {
		out, errs, err := d.collect(ctx, false)
		if err != nil {
			return nil, err
		}
		if len(out) > 0 {
			for _, u := range d.urls {
				if _, ok := out[u]; !ok {
					d.logf("bbs %s: not serving (a standby, or down): it reads its keys from its configuration when it starts serving", u)
				}
			}
			return out, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no BBS answered within %s (%s): check --bbs-admin-url and that the deployment runs", timeout, strings.Join(errs, "; "))
		}
		if time.Since(lastLine) >= 10*time.Second {
			lastLine = time.Now()
			d.logf("no BBS answered yet (starting?); retrying")
		}
		if err := ctxsleep.Sleep(ctx, d.poll); err != nil {
			return nil, fmt.Errorf("no BBS answered (%s): %w", strings.Join(errs, "; "), err)
		}
	}
}

// reencrypt starts re-encryption where needed and polls until no row is
// sealed under a label other than target, reporting progress. It survives
// BBS restarts (polling until one answers again) and restarts a
// re-encryption that stopped with rows pending.
func (d *driver) reencrypt(ctx context.Context, target string) error {
	start := time.Now()
	lastLine := time.Time{}
	var total int64
	firstPending := d.pending // as the activating reload reported it
	failures := 0
	for {
		st, url, err := d.statusAny(ctx, true)
		if err != nil {
			return fmt.Errorf("following re-encryption: %w", err)
		}
		if st.ActiveLabel != target {
			// a BBS that restarted from an old config, or missed the reload
			d.logf("bbs %s has %q active, not %q: reloading it", url, st.ActiveLabel, target)
			if err := d.fixActive(ctx, url, st.ActiveLabel, target); err != nil {
				return err
			}
			continue
		}
		total = max(total, st.RowsReencrypted)
		if st.PendingRows == 0 && !st.Running {
			d.rowsReencrypted = max(total, firstPending)
			d.reencryption = time.Since(start)
			d.logf("re-encryption complete: no row is sealed under another key than %q (%d rows in %s)",
				target, d.rowsReencrypted, d.reencryption.Round(time.Millisecond))
			return nil
		}
		if !st.Running {
			if st.LastError != "" {
				failures++
				d.logf("bbs %s: re-encryption stopped: %s", url, st.LastError)
				if failures > 10 {
					return fmt.Errorf("re-encryption keeps failing on the BBS at %s: %s", url, st.LastError)
				}
			}
			if _, err := d.admin(ctx, http.MethodPost, url, "reencrypt"); err != nil && !errors.Is(err, errUnreachable) {
				return fmt.Errorf("starting re-encryption on the BBS at %s: %w", url, err)
			}
		}
		if time.Since(lastLine) >= time.Second {
			lastLine = time.Now()
			rate := float64(st.RowsReencrypted) / max(time.Since(start).Seconds(), 0.001)
			d.logf("re-encrypting under %q: %d rows pending, %d re-encrypted (%.0f rows/s)", target, st.PendingRows, st.RowsReencrypted, rate)
		}
		if err := ctxsleep.Sleep(ctx, d.poll); err != nil {
			return fmt.Errorf("re-encryption did not finish: %d rows still pending: %w", st.PendingRows, err)
		}
	}
}
