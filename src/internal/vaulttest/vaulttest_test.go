package vaulttest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/diego-go/diego/src/internal/vaulttest"
)

func client(t *testing.T, s *vaulttest.Server, token string) *vault.Client {
	t.Helper()
	c, err := vault.NewClient(&vault.Config{Address: s.URL, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

func status(err error) int {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// TestPolicyCreateVersusUpdate: a write to a secret that does not exist
// needs "create", to one that does "update"; a denial is Vault's 403 body.
func TestPolicyCreateVersusUpdate(t *testing.T) {
	s := vaulttest.Start(t, vaulttest.Options{})
	s.SetPolicy("upd", vaulttest.Policy{"secret/data/app/*": {"read", "update"}})
	s.SetPolicy("crt", vaulttest.Policy{"secret/data/app/*": {"create"}})
	ctx := context.Background()
	upd := client(t, s, s.NewTokenWithPolicies("upd")).KVv2("secret")
	if _, err := upd.Put(ctx, "app/x", map[string]any{"a": "1"}); status(err) != http.StatusForbidden {
		t.Fatalf("update-only token created a secret: %v", err)
	}
	crt := client(t, s, s.NewTokenWithPolicies("crt")).KVv2("secret")
	if _, err := crt.Put(ctx, "app/x", map[string]any{"a": "1"}); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := crt.Put(ctx, "app/x", map[string]any{"a": "2"}); status(err) != http.StatusForbidden {
		t.Fatalf("create-only token updated an existing secret: %v", err)
	}
	if _, err := upd.Put(ctx, "app/x", map[string]any{"a": "2"}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, err := crt.Get(ctx, "app/x"); status(err) != http.StatusForbidden {
		t.Fatalf("create-only token read: %v", err)
	}
	if _, err := upd.Get(ctx, "other"); status(err) != http.StatusForbidden {
		t.Fatalf("read outside the policy's paths: %v", err)
	}
	// the raw body, as OpenBao 2.0 sends it
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/secret/data/other", nil)
	req.Header.Set("X-Vault-Token", s.NewTokenWithPolicies("upd"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"errors":["1 error occurred:\n\t* permission denied\n\n"]}`; resp.StatusCode != 403 || strings.TrimSpace(string(b)) != want {
		t.Fatalf("denial: %d %s, want 403 %s", resp.StatusCode, b, want)
	}
	if d := s.Denials(); !slices.Contains(d, "update secret/data/app/x") || !slices.Contains(d, "create secret/data/app/x") {
		t.Fatalf("denials: %v", d)
	}
}

// TestPolicyMostSpecificWinsAndDeny: within a policy the most specific
// pattern wins; deny in any policy denies.
func TestPolicyMostSpecificWinsAndDeny(t *testing.T) {
	s := vaulttest.Start(t, vaulttest.Options{})
	s.Put("secret", "app/x", map[string]any{"a": "1"})
	s.SetPolicy("p", vaulttest.Policy{"secret/data/*": {"read"}, "secret/data/app/x": {"update"}})
	s.SetPolicy("no", vaulttest.Policy{"secret/data/app/*": {"deny"}})
	ctx := context.Background()
	kv := client(t, s, s.NewTokenWithPolicies("p")).KVv2("secret")
	if _, err := kv.Get(ctx, "app/x"); status(err) != http.StatusForbidden {
		t.Fatalf("the exact path (update only) should win over the glob (read): %v", err)
	}
	if _, err := kv.Put(ctx, "app/x", map[string]any{"a": "2"}); err != nil {
		t.Fatal(err)
	}
	both := client(t, s, s.NewTokenWithPolicies("p", "no")).KVv2("secret")
	if _, err := both.Put(ctx, "app/x", map[string]any{"a": "3"}); status(err) != http.StatusForbidden {
		t.Fatalf("deny should win: %v", err)
	}
	caps, err := client(t, s, s.NewTokenWithPolicies("p")).Sys().CapabilitiesSelfWithContext(ctx, "secret/data/app/x")
	if err != nil || !slices.Equal(caps, []string{"update"}) {
		t.Fatalf("capabilities-self: %v %v", caps, err)
	}
	caps, err = client(t, s, s.RootToken).Sys().CapabilitiesSelfWithContext(ctx, "secret/data/app/x")
	if err != nil || !slices.Equal(caps, []string{"root"}) {
		t.Fatalf("root capabilities-self: %v %v", caps, err)
	}
}

// TestVersionHistory: old versions stay readable (?version=N) until
// destroyed; delete/undelete; max_versions drops the oldest.
func TestVersionHistory(t *testing.T) {
	s := vaulttest.Start(t, vaulttest.Options{})
	s.SetPolicy("reader", vaulttest.Policy{"secret/data/app": {"read"}})
	s.SetPolicy("destroyer", vaulttest.Policy{"secret/destroy/app": {"update"}})
	ctx := context.Background()
	root := client(t, s, s.RootToken).KVv2("secret")
	for i := 1; i <= 12; i++ {
		if _, err := root.Put(ctx, "app", map[string]any{"pass": fmt.Sprint("p", i)}, vault.WithCheckAndSet(i-1)); err != nil {
			t.Fatal(err)
		}
	}
	reader := client(t, s, s.NewTokenWithPolicies("reader")).KVv2("secret")
	if _, err := reader.GetVersion(ctx, "app", 2); !errors.Is(err, vault.ErrSecretNotFound) {
		t.Fatalf("version 2 should be dropped by max_versions 10: %v", err)
	}
	old, err := reader.GetVersion(ctx, "app", 3)
	if err != nil || old.Data["pass"] != "p3" {
		t.Fatalf("version 3: %v %v", old, err)
	}
	md, err := root.GetMetadata(ctx, "app")
	if err != nil || md.CurrentVersion != 12 || md.OldestVersion != 3 || len(md.Versions) != 10 {
		t.Fatalf("metadata: %+v %v", md, err)
	}
	// destroy needs update on secret/destroy/<path>: the reader lacks it
	if err := reader.Destroy(ctx, "app", []int{3}); status(err) != http.StatusForbidden {
		t.Fatalf("reader destroyed: %v", err)
	}
	destroyer := client(t, s, s.NewTokenWithPolicies("destroyer")).KVv2("secret")
	if err := destroyer.Destroy(ctx, "app", []int{1, 3, 4}); err != nil {
		t.Fatal(err)
	}
	got, err := reader.GetVersion(ctx, "app", 3)
	if err != nil || got.Data != nil || got.VersionMetadata == nil || !got.VersionMetadata.Destroyed {
		t.Fatalf("destroyed version 3 read as %+v %v", got, err)
	}
	if err := root.Undelete(ctx, "app", []int{3}); err != nil {
		t.Fatal(err)
	}
	if got, _ := reader.GetVersion(ctx, "app", 3); got == nil || got.Data != nil {
		t.Fatalf("undelete brought a destroyed version back: %+v", got)
	}
	if err := root.DeleteVersions(ctx, "app", []int{5}); err != nil {
		t.Fatal(err)
	}
	if got, _ := reader.GetVersion(ctx, "app", 5); got == nil || got.Data != nil || got.VersionMetadata.DeletionTime.IsZero() {
		t.Fatalf("deleted version 5 read as %+v", got)
	}
	if err := root.Undelete(ctx, "app", []int{5}); err != nil {
		t.Fatal(err)
	}
	if got, _ := reader.GetVersion(ctx, "app", 5); got == nil || got.Data["pass"] != "p5" {
		t.Fatalf("undeleted version 5 read as %+v", got)
	}
	if err := root.Delete(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if got, err := reader.Get(ctx, "app"); err != nil || got.Data != nil {
		t.Fatalf("latest after delete: %+v %v", got, err)
	}
	// the metadata exists, so a write is an update even with every version gone
	s.SetPolicy("creator", vaulttest.Policy{"secret/data/app": {"create"}})
	if _, err := client(t, s, s.NewTokenWithPolicies("creator")).KVv2("secret").Put(ctx, "app", map[string]any{"x": "y"}); status(err) != http.StatusForbidden {
		t.Fatalf("create-only wrote over existing metadata: %v", err)
	}
	if err := root.PutMetadata(ctx, "app", vault.KVMetadataPutInput{MaxVersions: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Put(ctx, "app", map[string]any{"pass": "p13"}); err != nil {
		t.Fatal(err)
	}
	if md, err := root.GetMetadata(ctx, "app"); err != nil || len(md.Versions) != 2 || md.MaxVersions != 2 {
		t.Fatalf("max_versions 2: %+v %v", md, err)
	}
	if err := root.DeleteMetadata(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.GetMetadata(ctx, "app"); !errors.Is(err, vault.ErrSecretNotFound) && status(err) != 404 {
		t.Fatalf("metadata after delete: %v", err)
	}
}
