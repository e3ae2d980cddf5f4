package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/cli/render"
	"github.com/diego-go/diego/src/rotate"
)

// rotateEncryptionKey is `diego rotate-encryption-key`: the one rotation
// implementation (src/rotate) behind a command; the BOSH errand and the
// pipeline task run this command. With --vault-addr the key ring is in Vault
// (rotate.Run); with --deployment and --manifest it is in the BOSH manifest
// (rotate.RunManifest: two deploys, each verified).
func rotateEncryptionKey(ctx context.Context, c *call) error {
	var urls []string
	c.fs.Func("bbs-admin-url", "a BBS API URL (https://host:8889); repeat for every BBS instance (default --bbs-url)", func(s string) error {
		urls = append(urls, s)
		return nil
	})
	var adminCert, adminKey, caCert, timeout, label string
	var v keyring.VaultConfig
	c.str(&adminCert, "admin-cert", "", "", "admin client certificate (common name in the BBS's admin_common_names; required)")
	c.str(&adminKey, "admin-key", "", "", "admin client key (required)")
	c.str(&caCert, "ca-cert", "", "", "CA the BBS server certificate chains to (default --bbs-ca-cert-file)")
	c.str(&v.Address, "vault-addr", "", "", "Vault address (env VAULT_ADDR)")
	c.str(&v.Token, "vault-token", "", "", "Vault token (env VAULT_TOKEN)")
	c.str(&v.TokenFile, "vault-token-file", "", "", "file holding the Vault token")
	c.str(&v.AppRole.RoleID, "vault-role-id", "", "", "AppRole role_id (instead of a token)")
	c.str(&v.AppRole.SecretID, "vault-secret-id", "", "", "AppRole secret_id")
	c.str(&v.AppRole.SecretIDFile, "vault-secret-id-file", "", "", "file holding the AppRole secret_id")
	c.str(&v.AppRole.Mount, "vault-approle-mount", "", "approle", "AppRole auth mount")
	c.str(&v.Mount, "vault-mount", "", "secret", "KV v2 mount holding the key ring")
	c.str(&v.Path, "vault-path", "", "diego/bbs/encryption", "the key ring secret's path under the mount")
	c.str(&v.CACertFile, "vault-ca-cert", "", "", "CA that signed Vault's certificate (env VAULT_CACERT)")
	c.str(&timeout, "timeout", "", "", "give up after this long (default 30m with Vault, 3h with --manifest; the run can be resumed by running it again)")
	c.str(&label, "new-key-label", "", "", "label of the new key (default key-<UTC time>-<random>)")
	var m rotate.ManifestConfig
	c.str(&m.Deployment, "deployment", "", "", "manifest mode: the BOSH deployment (keys in its manifest; two deploys)")
	c.str(&m.Manifest, "manifest", "", "", "manifest mode: the deployment's base manifest")
	c.fs.Func("ops-file", "manifest mode: one of the deployment's usual ops-files, in order (repeatable; -o is the output format)", func(s string) error {
		m.OpsFiles = append(m.OpsFiles, s)
		return nil
	})
	varsFile := func(s string) error {
		m.VarsFiles = append(m.VarsFiles, s)
		return nil
	}
	c.fs.Func("vars-file", "manifest mode: one of the deployment's usual vars files (repeatable)", varsFile)
	c.fs.Func("l", "short for --vars-file", varsFile)
	kv := func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("%q is not KEY=VALUE", s)
		}
		m.Vars = append(m.Vars, s)
		return nil
	}
	c.fs.Func("var", "manifest mode: one of the deployment's usual variables, KEY=VALUE (repeatable)", kv)
	c.fs.Func("v", "short for --var", kv)
	c.str(&m.BoshCLI, "bosh-cli", "", "", "manifest mode: the bosh CLI (default env BOSH_CLI, else bosh on PATH; the director from BOSH_ENVIRONMENT etc.)")
	c.str(&m.ReleaseOpsDir, "release-ops-dir", "", "ops-files", "manifest mode: the release's ops-files directory (holds set-bbs-active-key.yml)")
	c.str(&m.OpsDir, "ops-dir", "", "", "manifest mode: where to write the new key's ops-file and the old keys' removal (default a temporary directory)")
	c.fs.BoolVar(&m.DryRun, "dry-run", false, "manifest mode: print the plan (the two bosh deploys) and stop")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	manifestMode := m.Deployment != "" || m.Manifest != "" || len(m.OpsFiles) > 0 || len(m.VarsFiles) > 0 || len(m.Vars) > 0 ||
		m.BoshCLI != "" || m.OpsDir != "" || m.DryRun
	var vaultFlags []string
	c.fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "vault-") {
			vaultFlags = append(vaultFlags, "--"+f.Name)
		}
	})
	if manifestMode {
		if len(vaultFlags) > 0 {
			return c.usageError(fmt.Errorf("%s: the key ring is either in Vault (--vault-addr) or in the manifest (--deployment, --manifest): not both", strings.Join(vaultFlags, ", ")))
		}
		if m.Deployment == "" || m.Manifest == "" {
			return c.usageError(errors.New("manifest mode needs --deployment and --manifest (plus the deployment's usual --ops-file, -l and -v)"))
		}
		if timeout == "" {
			timeout = "3h"
		}
	} else if timeout == "" {
		timeout = "30m"
	}
	if !manifestMode {
		envDefault(&v.Address, "VAULT_ADDR")
		envDefault(&v.CACertFile, "VAULT_CACERT")
		if v.TokenFile == "" && v.AppRole.RoleID == "" {
			envDefault(&v.Token, "VAULT_TOKEN")
		}
	}
	if len(urls) == 0 {
		u := c.g.settings.BBSURL
		envDefault(&u, "BBS_URL")
		if u != "" {
			urls = []string{u}
		}
	}
	if caCert == "" {
		caCert = c.g.settings.BBSCACert
		envDefault(&caCert, "BBS_CA_CERT_FILE")
	}
	d, err := time.ParseDuration(timeout)
	switch {
	case err != nil || d <= 0:
		return c.usageError(fmt.Errorf("--timeout %q must be a positive duration such as 30m", timeout))
	case len(urls) == 0:
		return c.usageError(errors.New("--bbs-admin-url is required (repeat it for every BBS)"))
	case adminCert == "" || adminKey == "" || caCert == "":
		return c.usageError(errors.New("--admin-cert, --admin-key and --ca-cert are required"))
	case !manifestMode && v.Address == "":
		return c.usageError(errors.New("--vault-addr (or VAULT_ADDR) is required, or give --deployment and --manifest for keys in the manifest"))
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, "https://") {
			return c.usageError(fmt.Errorf("--bbs-admin-url %q must be https:// (the admin API needs a client certificate)", u))
		}
	}
	if m.NewLabel = label; label != "" && manifestMode {
		if err := rotate.CheckManifestLabel(label); err != nil {
			return c.usageError(fmt.Errorf("--new-key-label: %w", err))
		}
	}
	var vault *keyring.Vault
	if !manifestMode {
		if vault, err = keyring.NewVault(v); err != nil {
			return c.usageError(err)
		}
	}
	hc, err := rotate.AdminHTTPClient(caCert, adminCert, adminKey, 0)
	if err != nil {
		return err
	}
	if manifestMode {
		m.BBSAdminURLs, m.HTTPClient, m.Progress = urls, hc, c.stderr
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return rotateManifest(ctx, c, m)
	}
	cfg := rotate.Config{Vault: vault, BBSAdminURLs: urls, HTTPClient: hc, Progress: c.stderr}
	if label != "" {
		cfg.NewLabel = func() string { return label }
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	res, err := rotate.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("rotate-encryption-key: %w (run it again to resume; it converges)", err)
	}
	if c.format == render.Table {
		fmt.Fprintf(c.stdout, "active key:      %s\nremoved keys:    %s\nrows re-encrypted: %d in %s\nresumed:         %v\nvault version:   %d\nBBSs reloaded:   %s\n",
			res.ActiveLabel, strings.Join(res.RemovedLabels, ", "), res.RowsReencrypted, res.Reencryption.Round(time.Millisecond),
			res.Resumed, res.VaultVersion, strings.Join(res.BBSReached, ", "))
		return nil
	}
	return json.NewEncoder(c.stdout).Encode(res)
}

// rotateManifest runs manifest mode and prints its summary.
func rotateManifest(ctx context.Context, c *call, m rotate.ManifestConfig) error {
	res, err := rotate.RunManifest(ctx, m)
	if err != nil {
		return fmt.Errorf("rotate-encryption-key: %w", err)
	}
	if c.format == render.Table {
		fmt.Fprintf(c.stdout, "deployment:      %s\nactive key:      %s\nold keys:        %s (unused; drop with %s)\nkey ops-file:    %s\ndeploys run:     %d\nrows re-encrypted: %d in %s\nresumed:         %v\ndry run:         %v\n",
			res.Deployment, res.ActiveLabel, strings.Join(res.OldLabels, ", "), res.DropOpsFile, res.KeyOpsFile, len(res.Deployed),
			res.RowsReencrypted, res.Reencryption.Round(time.Millisecond), res.Resumed, res.DryRun)
		return nil
	}
	return json.NewEncoder(c.stdout).Encode(res)
}

func envDefault(p *string, name string) {
	if *p == "" {
		*p = os.Getenv(name)
	}
}
