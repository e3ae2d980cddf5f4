package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/diego-go/diego/src/cli/render"
	"github.com/diego-go/diego/src/rotate"
)

// rotateEncryptionKey is `diego rotate-encryption-key`: its flags mapped to a
// rotate.Request, which src/rotate checks and runs (the BOSH errand and the
// pipeline task run this command). With --vault-addr the key ring is in
// Vault; with --deployment and --manifest it is in the BOSH manifest.
func rotateEncryptionKey(ctx context.Context, c *call) error {
	var r rotate.Request
	v, m := &r.Vault, &r.Manifest
	appendTo := func(list *[]string) func(string) error {
		return func(s string) error {
			*list = append(*list, s)
			return nil
		}
	}
	c.fs.Func("bbs-admin-url", "a BBS API URL (https://host:8889); repeat for every BBS instance (default --bbs-url)", appendTo(&r.BBSAdminURLs))
	for _, f := range []struct {
		p                *string
		name, def, usage string
	}{
		{&r.AdminCert, "admin-cert", "", "admin client certificate (common name in the BBS's admin_common_names; required)"},
		{&r.AdminKey, "admin-key", "", "admin client key (required)"},
		{&r.CACert, "ca-cert", "", "CA the BBS server certificate chains to (default --bbs-ca-cert-file)"},
		{&v.Address, "vault-addr", "", "Vault address (env VAULT_ADDR)"},
		{&v.Token, "vault-token", "", "Vault token (env VAULT_TOKEN)"},
		{&v.TokenFile, "vault-token-file", "", "file holding the Vault token"},
		{&v.AppRole.RoleID, "vault-role-id", "", "AppRole role_id (instead of a token)"},
		{&v.AppRole.SecretID, "vault-secret-id", "", "AppRole secret_id"},
		{&v.AppRole.SecretIDFile, "vault-secret-id-file", "", "file holding the AppRole secret_id"},
		{&v.AppRole.Mount, "vault-approle-mount", "approle", "AppRole auth mount"},
		{&v.Mount, "vault-mount", "secret", "KV v2 mount holding the key ring"},
		{&v.Path, "vault-path", "diego/bbs/encryption", "the key ring secret's path under the mount"},
		{&v.CACertFile, "vault-ca-cert", "", "CA that signed Vault's certificate (env VAULT_CACERT)"},
		{&r.Timeout, "timeout", "", "give up after this long (default 30m with Vault, 3h with --manifest; the run can be resumed by running it again)"},
		{&r.NewLabel, "new-key-label", "", "label of the new key (default key-<UTC time>-<random>)"},
		{&m.Deployment, "deployment", "", "manifest mode: the BOSH deployment (keys in its manifest; two deploys)"},
		{&m.Manifest, "manifest", "", "manifest mode: the deployment's base manifest"},
		{&m.BoshCLI, "bosh-cli", "", "manifest mode: the bosh CLI (default env BOSH_CLI, else bosh on PATH; the director from BOSH_ENVIRONMENT etc.)"},
		{&m.ReleaseOpsDir, "release-ops-dir", "ops-files", "manifest mode: the release's ops-files directory (holds set-bbs-active-key.yml)"},
		{&m.OpsDir, "ops-dir", "", "manifest mode: where to write the new key's ops-file and the old keys' removal (default a temporary directory)"},
	} {
		c.str(f.p, f.name, "", f.def, f.usage)
	}
	c.fs.Func("ops-file", "manifest mode: one of the deployment's usual ops-files, in order (repeatable; -o is the output format)", appendTo(&m.OpsFiles))
	c.fs.Func("vars-file", "manifest mode: one of the deployment's usual vars files (repeatable)", appendTo(&m.VarsFiles))
	c.fs.Func("l", "short for --vars-file", appendTo(&m.VarsFiles))
	kv := func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("%q is not KEY=VALUE", s)
		}
		m.Vars = append(m.Vars, s)
		return nil
	}
	c.fs.Func("var", "manifest mode: one of the deployment's usual variables, KEY=VALUE (repeatable)", kv)
	c.fs.Func("v", "short for --var", kv)
	c.fs.BoolVar(&m.DryRun, "dry-run", false, "manifest mode: print the plan (the two bosh deploys) and stop")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	c.fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "vault-") {
			r.VaultFlags = append(r.VaultFlags, "--"+f.Name)
		}
	})
	r.Defaults(os.Getenv, c.g.settings.BBSURL, c.g.settings.BBSCACert)
	r.Progress = c.stderr
	res, err := rotate.Execute(ctx, r)
	if ue := (*rotate.UsageError)(nil); errors.As(err, &ue) {
		return c.usageError(ue.Err)
	}
	if err != nil {
		return err
	}
	if c.format == render.Table {
		fmt.Fprint(c.stdout, res.Table())
		return nil
	}
	return json.NewEncoder(c.stdout).Encode(res)
}
