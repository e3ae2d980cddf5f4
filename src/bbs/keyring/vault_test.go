package keyring_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/internal/vaulttest"
)

// These tests drive src/internal/vaulttest, a stand-in following Vault's
// documented KV v2 / AppRole HTTP API, through the real vault/api client.

func doc(active string, labels ...string) keyring.Doc {
	d := keyring.Doc{ActiveKeyLabel: active, Keys: map[string]string{}}
	for _, l := range labels {
		d.Keys[l] = "pass-" + l
	}
	return d
}

func TestReadWriteCheckAndSet(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		srv := vaulttest.Start(t, vaulttest.Options{TLS: useTLS})
		v, err := keyring.NewVault(keyring.VaultConfig{Address: srv.URL, Path: "diego/bbs/encryption",
			Token: srv.RootToken, CACertFile: srv.CACertFile})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, _, err := v.Read(ctx); !errors.Is(err, keyring.ErrNotFound) {
			t.Fatalf("read of a missing secret: %v", err)
		}
		n, err := v.Write(ctx, doc("k1", "k1"), 0)
		if err != nil || n != 1 {
			t.Fatalf("create: %d %v", n, err)
		}
		if _, err := v.Write(ctx, doc("k1", "k1"), 0); !errors.Is(err, keyring.ErrCASMismatch) {
			t.Fatalf("second create with cas 0: %v", err)
		}
		d2 := doc("k2", "k1", "k2")
		d2.RotatingTo = "k2"
		if n, err = v.Write(ctx, d2, 1); err != nil || n != 2 {
			t.Fatalf("update: %d %v", n, err)
		}
		if _, err := v.Write(ctx, doc("k1", "k1"), 1); !errors.Is(err, keyring.ErrCASMismatch) {
			t.Fatalf("stale cas: %v", err)
		}
		got, ver, err := v.Read(ctx)
		if err != nil || ver != 2 || got.ActiveKeyLabel != "k2" || got.RotatingTo != "k2" || got.Keys["k1"] != "pass-k1" {
			t.Fatalf("read: %+v %d %v", got, ver, err)
		}
		keys, active, err := v.Load(ctx)
		if err != nil || active != "k2" || len(keys) != 2 {
			t.Fatalf("load: %v %s %v", keys, active, err)
		}
		if _, err := v.Write(ctx, doc("k9", "k1"), 2); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Fatalf("writing an unusable ring: %v", err)
		}
	}
}

func TestAuthErrorsAreClear(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	srv.Put("secret", "p", map[string]any{"active_key_label": "k1", "keys": map[string]any{"k1": "x"}})
	ctx := context.Background()

	bad, _ := keyring.NewVault(keyring.VaultConfig{Address: srv.URL, Path: "p", Token: "hvs.wrong", MaxRetries: -1})
	if _, _, err := bad.Read(ctx); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("wrong token: %v", err)
	}

	// token_file is re-read on every request
	tf := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tf, []byte("hvs.wrong\n"), 0o600)
	v, _ := keyring.NewVault(keyring.VaultConfig{Address: srv.URL, Path: "p", TokenFile: tf})
	if _, _, err := v.Read(ctx); err == nil {
		t.Fatal("wrong token file accepted")
	}
	os.WriteFile(tf, []byte(srv.RootToken+"\n"), 0o600)
	if _, _, err := v.Read(ctx); err != nil {
		t.Fatal(err)
	}

	role, sec := srv.AddAppRole()
	ar, _ := keyring.NewVault(keyring.VaultConfig{Address: srv.URL, Path: "p", AppRole: keyring.AppRole{RoleID: role, SecretID: sec}})
	if _, _, err := ar.Read(ctx); err != nil {
		t.Fatalf("approle: %v", err)
	}
	arBad, _ := keyring.NewVault(keyring.VaultConfig{Address: srv.URL, Path: "p", AppRole: keyring.AppRole{RoleID: role, SecretID: "nope"}})
	if _, _, err := arBad.Read(ctx); err == nil || !strings.Contains(err.Error(), "invalid role or secret ID") {
		t.Fatalf("bad approle: %v", err)
	}

	srv.Seal()
	if _, _, err := v.Read(ctx); err == nil || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("sealed: %v", err)
	}
	srv.Unseal()
	srv.Down()
	down, _ := keyring.NewVault(keyring.VaultConfig{Address: srv.URL, Path: "p", Token: srv.RootToken, MaxRetries: -1, Timeout: time.Second})
	if _, _, err := down.Read(ctx); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("down: %v", err)
	}
	srv.Up(t)
	if _, _, err := down.Read(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

// TestVaultErrorsOneLine: a real server's policy denial (a multi-line
// multierror body) becomes one line naming the path and the capability.
func TestVaultErrorsOneLine(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	srv.SetPolicy("reader", vaulttest.Policy{"secret/data/x": {"read"}})
	v, err := keyring.NewVault(keyring.VaultConfig{Address: srv.URL, Path: "x", Token: srv.NewTokenWithPolicies("reader"), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv.Put("secret", "x", map[string]any{"active_key_label": "k1", "keys": map[string]any{"k1": "p"}})
	if _, _, err := v.Read(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = v.Write(ctx, doc("k1", "k1", "k2"), 1)
	want := "vault: permission denied on secret/data/x at " + srv.URL + " (needs update): check the token or AppRole and its policy"
	if err == nil || err.Error() != want || !keyring.IsDenied(err) {
		t.Fatalf("write denied:\n got %q\nwant %q", err, want)
	}
	err = v.Destroy(ctx, []int{1})
	if err == nil || !strings.Contains(err.Error(), "permission denied on secret/destroy/x") || !strings.Contains(err.Error(), "(needs update)") {
		t.Fatalf("destroy denied: %v", err)
	}
	caps, err := v.Capabilities(ctx, v.DataPath(), v.DestroyPath())
	if err != nil || strings.Join(caps["secret/data/x"], ",") != "read" || strings.Join(caps["secret/destroy/x"], ",") != "deny" {
		t.Fatalf("capabilities: %v %v", caps, err)
	}
	srv.Seal()
	_, _, err = v.Read(ctx)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("sealed: %q", err)
	}
}
