package rotate

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// RunError is a failed Vault-mode run: the error, on one line, and what
// the run had changed by then ("nothing changed" when it changed nothing).
type RunError struct {
	Err     error
	Changes []string
}

func (e *RunError) Error() string {
	if len(e.Changes) == 0 {
		return oneLine(e.Err.Error()) + ": nothing changed"
	}
	return fmt.Sprintf("%s; changed so far: %s; run again to resume (it converges)",
		oneLine(e.Err.Error()), strings.Join(e.Changes, "; "))
}

func (e *RunError) Unwrap() error { return e.Err }

// NothingChanged: the run stopped before changing anything.
func (e *RunError) NothingChanged() bool { return len(e.Changes) == 0 }

// oneLine joins the lines of a message.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// changed records what the run changed; a key ring write replaces the
// previous one's entry (only the latest version matters to the operator).
func (r *vaultRun) changed(what string) {
	const ring = "Vault holds key ring version "
	if strings.HasPrefix(what, ring) {
		for i, c := range r.changes {
			if strings.HasPrefix(c, ring) {
				r.changes[i] = what
				return
			}
		}
	}
	r.changes = append(r.changes, what)
}

// Capabilities the rotation needs (docs/key-rotation.md, "Vault policies"):
// read and update on the key ring's data, update on its destroy path.
// create is not needed: the rotation never creates the secret.
func (r *vaultRun) needs() map[string][]string {
	v := r.cfg.Vault
	return map[string][]string{v.DataPath(): {"read", "update"}, v.DestroyPath(): {"update"}}
}

// checkPolicy asks Vault (sys/capabilities-self) whether the token may do
// every write the rotation will do, so that a missing capability stops it
// before it changes anything. A server that refuses the question (a token
// without Vault's default policy) is not a reason to stop: each request
// then says which capability it lacked.
func (r *vaultRun) checkPolicy(ctx context.Context) error {
	need := r.needs()
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range need {
			if !yield(p) {
				return
			}
		}
	})
	have, err := r.cfg.Vault.Capabilities(ctx, paths...)
	if err != nil {
		r.d.logf("cannot check the token's capabilities beforehand (%v); going on", err)
		return nil
	}
	var missing []string
	for _, p := range paths {
		if slices.Contains(have[p], "root") {
			continue
		}
		for _, c := range need[p] {
			if !slices.Contains(have[p], c) {
				missing = append(missing, c+" on "+p)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("vault: permission denied: the token's policy lacks %s (the rotation needs read and update on %s and update on %s)",
			strings.Join(missing, ", "), r.cfg.Vault.DataPath(), r.cfg.Vault.DestroyPath())
	}
	return nil
}

// destroyHistory destroys every version of the key ring secret before the
// current one (KV v2 destroy: the data is gone, for every reader), so that
// removed keys cannot be read back from the version history with
// ?version=N. removed names them for the messages (nil: they were removed
// by an earlier run).
func (r *vaultRun) destroyHistory(ctx context.Context, removed []string) error {
	if r.version <= 1 {
		return nil
	}
	versions := make([]int, 0, r.version-1)
	for n := 1; n < r.version; n++ {
		versions = append(versions, n)
	}
	if err := r.cfg.Vault.Destroy(ctx, versions); err != nil {
		what := "the removed keys"
		if len(removed) > 0 {
			what = fmt.Sprintf("keys %v", removed)
		}
		return fmt.Errorf("%w; %s stay readable in versions 1-%d of the secret's history until destroyed (grant update on %s and run again)",
			err, what, r.version-1, r.cfg.Vault.DestroyPath())
	}
	r.d.logf("destroyed versions 1-%d of the key ring secret in Vault: the removed keys cannot be read from its history", r.version-1)
	r.changed(fmt.Sprintf("destroyed versions 1-%d of the key ring secret", r.version-1))
	r.res.DestroyedThrough = r.version - 1
	return nil
}
