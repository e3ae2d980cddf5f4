package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/internal/vaulttest"
	"github.com/diego-go/diego/src/target"
)

// TestUpVault: diego up --vault-addr runs its BBS on a Vault key source, as
// production does. With a token that may create the secret it seeds it
// with the cluster's key; the BBS (its config holding no key) serves and
// reads its encrypted records back; run again with an AppRole whose policy
// only reads, it reads the same key ring. An AppRole that only reads cannot
// seed a missing secret, and says so on one line.
func TestUpVault(t *testing.T) {
	vs := vaulttest.Start(t, vaulttest.Options{TLS: true})
	const data = "secret/data/diego/bbs/encryption"
	vs.SetPolicy("seed", vaulttest.Policy{data: {"create", "read"}})
	vs.SetPolicy("diego-bbs", vaulttest.Policy{data: {"read"}})
	roleID, secretID := vs.AddAppRoleWithPolicies("diego-bbs")

	// Nothing to read, and no right to seed.
	_, err := Up(t.Context(), Options{Dir: filepath.Join(t.TempDir(), "denied"), Cells: 1, PortBase: 9850, BinDir: binDir,
		Vault: VaultOptions{Address: vs.URL, RoleID: roleID, SecretID: secretID, CACertFile: vs.CACertFile}})
	if err == nil || !strings.Contains(err.Error(), "seeding it failed") || !strings.Contains(err.Error(), "permission denied on "+data) ||
		strings.Contains(err.Error(), "\n") {
		t.Fatalf("seeding with a read-only AppRole: %v", err)
	}

	dir := filepath.Join(t.TempDir(), "cluster")
	start := func(v VaultOptions) (*Cluster, *testutil.SyncBuffer, context.CancelFunc) {
		out := &testutil.SyncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		v.Address, v.CACertFile = vs.URL, vs.CACertFile
		c, err := Up(ctx, Options{Dir: dir, Cells: 1, PortBase: 9850, BinDir: binDir, Out: out, Vault: v})
		if err != nil {
			cancel()
			t.Fatalf("up --vault-addr: %v\n%s", err, out)
		}
		return c, out, cancel
	}
	c, out, cancel := start(VaultOptions{Token: vs.NewTokenWithPolicies("seed")})
	key, err := os.ReadFile(filepath.Join(dir, "encryption-key"))
	if err != nil {
		t.Fatal(err)
	}
	doc, version := vs.Get("secret", "diego/bbs/encryption")
	keys, _ := doc["keys"].(map[string]any)
	if version != 1 || doc["active_key_label"] != "local" || keys["local"] != strings.TrimSpace(string(key)) {
		t.Fatalf("seeded key ring: version %d %v\n%s", version, doc, out)
	}
	if !strings.Contains(out.String(), "seeded vault "+vs.URL) {
		t.Fatalf("no seeding reported:\n%s", out)
	}
	// The BBS's config holds no key: only Vault can open its rows.
	var cfg map[string]any
	raw, err := os.ReadFile(c.l.configFile("bbs"))
	if err != nil || json.Unmarshal(raw, &cfg) != nil {
		t.Fatalf("bbs config: %v", err)
	}
	src, _ := cfg["encryption_key_source"].(map[string]any)
	if keys, _ := cfg["encryption_keys"].(map[string]any); src["type"] != "vault" || len(keys) != 0 || cfg["active_key_label"] != "" {
		t.Fatalf("bbs config: encryption_key_source %v, encryption_keys %v", cfg["encryption_key_source"], cfg["encryption_keys"])
	}
	tgt, err := target.Load(target.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	cl, lg := clientFor(t, tgt), lager.NewLogger("t")
	if err := cl.UpsertDomain(lg, "", "cluster-test", 0); err != nil {
		t.Fatal(err)
	}
	app := sampleApp("vault-app", 1)
	app.EnvironmentVariables = append(app.EnvironmentVariables, &models.EnvironmentVariable{Name: "SECRET", Value: "vault-sealed-value"})
	if err := cl.DesireLRP(lg, "", app); err != nil {
		t.Fatal(err)
	}
	readBack := func() {
		t.Helper()
		got, err := cl.DesiredLRPByProcessGuid(lg, "", "vault-app")
		if err != nil {
			t.Fatalf("reading the desired LRP back: %v", err)
		}
		found := false
		for _, e := range got.EnvironmentVariables {
			found = found || e.Value == "vault-sealed-value"
		}
		if !found {
			t.Fatalf("the desired LRP read back without its variable: %v", got.EnvironmentVariables)
		}
	}
	readBack()
	cancel()
	c.Stop()

	// Again, with an AppRole that only reads: the key ring is there.
	writes := vs.Writes()
	c, out, cancel = start(VaultOptions{RoleID: roleID, SecretID: secretID})
	defer func() { cancel(); c.Stop() }()
	if !strings.Contains(out.String(), "the BBS reads its keys from vault "+vs.URL) {
		t.Fatalf("no Vault key ring reported:\n%s", out)
	}
	readBack()
	if vs.Writes() != writes {
		t.Fatal("a second diego up wrote to Vault")
	}
	if n := vs.Requests()["PUT login"]; n < 2 { // diego up's check, then the BBS's own login
		t.Fatalf("AppRole logins: %d, want the BBS's own too", n)
	}
}

// TestVaultOptionsValidate: the --vault-* flags' usage errors.
func TestVaultOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		v    VaultOptions
		want string
	}{
		{VaultOptions{Token: "t"}, "need --vault-addr"},
		{VaultOptions{Address: "vault:8200", Token: "t"}, "want http(s)://host:port"},
		{VaultOptions{Address: "http://127.0.0.1:8200"}, "give --vault-token, or --vault-role-id"},
		{VaultOptions{Address: "http://127.0.0.1:8200", Token: "t", RoleID: "r", SecretID: "s"}, "not both"},
		{VaultOptions{Address: "http://127.0.0.1:8200", RoleID: "r"}, "--vault-role-id needs --vault-secret-id"},
		{VaultOptions{Address: "https://127.0.0.1:8200", Token: "t", CACertFile: "/nonexistent/ca.crt"}, "--vault-ca-cert"},
	} {
		errs := c.v.validate()
		if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), c.want) {
			t.Errorf("%+v: got %v, want %q", c.v, errs, c.want)
		}
	}
	for _, ok := range []VaultOptions{{}, {Address: "http://127.0.0.1:8200", Token: "t"}, {Address: "http://127.0.0.1:8200", RoleID: "r", SecretID: "s", KeyPath: "a/b"}} {
		if errs := ok.validate(); len(errs) != 0 {
			t.Errorf("%+v: %v", ok, errs)
		}
	}
}
