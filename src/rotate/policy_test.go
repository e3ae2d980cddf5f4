package rotate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/vaulttest"
	"github.com/diego-go/diego/src/rotate"
)

// The policies docs/key-rotation.md documents, as measured: the BBS reads
// the key ring's data; the rotation reads and updates it and destroys its
// old versions. Neither needs create (the secret exists before either runs).
const (
	dataPath    = "secret/data/" + vaultPath
	destroyPath = "secret/destroy/" + vaultPath
)

func bbsPolicy() vaulttest.Policy { return vaulttest.Policy{dataPath: {"read"}} }

func rotationPolicy() vaulttest.Policy {
	return vaulttest.Policy{dataPath: {"read", "update"}, destroyPath: {"update"}}
}

// policyEnv is an env whose BBS and rotation carry exactly the documented
// policies ("diego-bbs", "diego-rotation").
func policyEnv(t *testing.T) (*env, *bbsProc, rotate.Config) {
	e := newEnv(t, "sqlite", testdb.SQLite(t), false)
	e.vault.SetPolicy("diego-bbs", bbsPolicy())
	e.vault.SetPolicy("diego-rotation", rotationPolicy())
	e.populate(10, 20, 5)
	b, err := e.tryStart(e.config(e.vault.NewTokenWithPolicies("diego-bbs")))
	if err != nil {
		t.Fatalf("a BBS with read on %s only: %v", dataPath, err)
	}
	return e, b, e.rotateConfigToken(e.vault.NewTokenWithPolicies("diego-rotation"), b.URL)
}

// historyReadable lists the versions before the current one whose data a
// reader with the BBS's policy can still read (?version=N), and whether any
// of them holds passphrase.
func historyReadable(t *testing.T, e *env, passphrase string) (readable []int, leaked bool) {
	t.Helper()
	c, err := vault.NewClient(&vault.Config{Address: e.vault.URL, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(e.vault.NewTokenWithPolicies("diego-bbs"))
	kv := c.KVv2("secret")
	cur, err := kv.Get(context.Background(), vaultPath)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n < cur.VersionMetadata.Version; n++ {
		s, err := kv.GetVersion(context.Background(), vaultPath, n)
		if err != nil || s.Data == nil {
			continue
		}
		readable = append(readable, n)
		if strings.Contains(fmt.Sprint(s.Data), passphrase) {
			leaked = true
		}
	}
	return readable, leaked
}

// TestRotateMinimalPolicies: with exactly the documented policies the
// rotation goes through, and afterwards a reader with the BBS's policy
// cannot read the removed passphrase from the secret's version history.
// With one capability less it stops before changing anything, on one line.
func TestRotateMinimalPolicies(t *testing.T) {
	e, b, cfg := policyEnv(t)
	if _, leaked := historyReadable(t, e, "first-passphrase"); leaked {
		t.Fatal("set-up: the history should hold only the current version")
	}
	res, err := rotate.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkConverged(t, e, b, "k1")
	readable, leaked := historyReadable(t, e, "first-passphrase")
	if leaked {
		t.Fatalf("the removed passphrase is readable from version history (versions %v) with the BBS's policy", readable)
	}
	if res.DestroyedThrough != res.VaultVersion-2 { // all but the last two: the one without the old key and the one clearing rotating_to
		t.Fatalf("destroyed through version %d of %d", res.DestroyedThrough, res.VaultVersion)
	}
	if len(readable) > 1 { // only the version that cleared rotating_to, which holds the new key alone
		t.Fatalf("versions %v before the current one are readable; want at most the one holding only %q", readable, res.ActiveLabel)
	}
	b.restart()
	readAll(t, b)

	// One capability less: a clear, one-line error and nothing changed.
	for _, c := range []struct{ path, drop string }{{dataPath, "read"}, {dataPath, "update"}, {destroyPath, "update"}} {
		p := rotationPolicy()
		p[c.path] = without(p[c.path], c.drop)
		e.vault.SetPolicy("diego-rotation", p)
		writes := e.vault.Writes()
		_, err := rotate.Run(context.Background(), cfg)
		msg := fmt.Sprint(err)
		want := c.drop + " on " + c.path
		if c.path == dataPath && c.drop == "read" {
			want = "permission denied on " + dataPath // the first read says so itself
		}
		if err == nil || !strings.Contains(msg, want) || !strings.HasSuffix(msg, "nothing changed") || strings.Contains(msg, "\n") {
			t.Fatalf("without %s on %s: want one line naming %q and ending \"nothing changed\", got %q", c.drop, c.path, want, msg)
		}
		if e.vault.Writes() != writes {
			t.Fatalf("without %s on %s: Vault was written", c.drop, c.path)
		}
		t.Logf("without %s on %s: %s", c.drop, c.path, msg)
	}
	// The BBS with no read: it says which capability it needs.
	e.vault.SetPolicy("diego-bbs", vaulttest.Policy{dataPath: {"list"}})
	_, err = e.tryStart(e.config(e.vault.NewTokenWithPolicies("diego-bbs")))
	if err == nil || !strings.Contains(err.Error(), "permission denied on "+dataPath) || !strings.Contains(err.Error(), "(needs read)") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("BBS without read: %v", err)
	}
}

func without(l []string, drop string) []string {
	var out []string
	for _, s := range l {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// TestRotateDeniedAtEachStep revokes the rotation's write capabilities
// after each step in turn: the next Vault write fails with one line saying
// what changed so far; with the policy back, running again converges and
// destroys the history.
func TestRotateDeniedAtEachStep(t *testing.T) {
	e, b, cfg := policyEnv(t)
	prev := "k1"
	for _, step := range rotate.Steps {
		e.vault.SetPolicy("diego-rotation", rotationPolicy())
		run := cfg
		run.AfterStep = func(s rotate.Step) error {
			if s == step {
				e.vault.SetPolicy("diego-rotation", vaulttest.Policy{dataPath: {"read"}})
			}
			return nil
		}
		_, err := rotate.Run(context.Background(), run)
		msg := fmt.Sprint(err)
		switch {
		case step == rotate.StepFinish:
			if err != nil {
				t.Fatalf("denied after the last step: %v", err)
			}
		case err == nil:
			t.Fatalf("denied after %s: the run went through", step)
		case !strings.Contains(msg, "permission denied on") || !strings.Contains(msg, "changed so far: Vault holds key ring version") ||
			strings.Contains(msg, "nothing changed") || strings.Contains(msg, "\n"):
			t.Fatalf("denied after %s: want one line naming the denial and what changed, got %q", step, msg)
		}
		t.Logf("denied after %s: %v", step, err)
		e.vault.SetPolicy("diego-rotation", rotationPolicy())
		if _, err := rotate.Run(context.Background(), cfg); err != nil {
			t.Fatalf("resuming after a denial after %s: %v", step, err)
		}
		prev = checkConverged(t, e, b, prev)
		if readable, _ := historyReadable(t, e, ""); len(readable) > 1 {
			t.Fatalf("after %s: versions %v of the history still readable", step, readable)
		}
	}
}

// TestRotateDestroyDenied: the destroy is refused mid-run (after the keys
// left the current version): the error says the keys stay in the history
// and how to finish; running again with update on the destroy path does.
func TestRotateDestroyDenied(t *testing.T) {
	e, b, cfg := policyEnv(t)
	run := cfg
	run.AfterStep = func(s rotate.Step) error {
		if s == rotate.StepReencrypt {
			e.vault.SetPolicy("diego-rotation", vaulttest.Policy{dataPath: {"read", "update"}})
		}
		return nil
	}
	_, err := rotate.Run(context.Background(), run)
	msg := fmt.Sprint(err)
	if err == nil || !strings.Contains(msg, "permission denied on "+destroyPath) || !strings.Contains(msg, "(needs update)") ||
		!strings.Contains(msg, "keys [k1] stay readable") || strings.Contains(msg, "\n") {
		t.Fatalf("destroy denied: %q", msg)
	}
	if _, leaked := historyReadable(t, e, "first-passphrase"); !leaked {
		t.Fatal("the destroy was refused, yet the old passphrase is gone from the history")
	}
	e.vault.SetPolicy("diego-rotation", rotationPolicy())
	if _, err := rotate.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	checkConverged(t, e, b, "k1")
	if _, leaked := historyReadable(t, e, "first-passphrase"); leaked {
		t.Fatal("the resumed run left the old passphrase in the history")
	}
}

// TestRotateFirstWriteDenied: a token whose policy cannot be asked about
// (sys/capabilities-self denied) and lacks update fails at the first write,
// one line, nothing changed.
func TestRotateFirstWriteDenied(t *testing.T) {
	e, _, _ := policyEnv(t)
	e.vault.SetPolicy("no-ask", vaulttest.Policy{dataPath: {"read"}, "sys/capabilities-self": {"deny"}})
	cfg := e.rotateConfigToken(e.vault.NewTokenWithPolicies("no-ask"), e.startBBS().URL)
	writes := e.vault.Writes()
	_, err := rotate.Run(context.Background(), cfg)
	want := "vault: permission denied on " + dataPath + " at " + e.vault.URL + " (needs update)"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.HasSuffix(err.Error(), ": nothing changed") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want one line with %q ending \": nothing changed\", got %q", want, err)
	}
	if e.vault.Writes() != writes {
		t.Fatal("Vault was written")
	}
}
