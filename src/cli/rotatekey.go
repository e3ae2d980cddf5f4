package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/diego-go/diego/src/bbs/keysource"
	"github.com/diego-go/diego/src/cli/render"
	"github.com/diego-go/diego/src/rotate"
)

// rotateEncryptionKey is `diego rotate-encryption-key`: the one rotation
// implementation (src/rotate) behind a command; the BOSH errand and the
// pipeline task run this command.
func rotateEncryptionKey(ctx context.Context, c *call) error {
	var urls []string
	c.fs.Func("bbs-admin-url", "a BBS API URL (https://host:8889); repeat for every BBS instance (default --bbs-url)", func(s string) error {
		urls = append(urls, s)
		return nil
	})
	var adminCert, adminKey, caCert, timeout, label string
	var v keysource.VaultConfig
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
	c.str(&timeout, "timeout", "", "30m", "give up after this long (the run can be resumed by running it again)")
	c.str(&label, "new-key-label", "", "", "label of the new key (default key-<UTC time>-<random>)")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	envDefault(&v.Address, "VAULT_ADDR")
	envDefault(&v.CACertFile, "VAULT_CACERT")
	if v.TokenFile == "" && v.AppRole.RoleID == "" {
		envDefault(&v.Token, "VAULT_TOKEN")
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
	case v.Address == "":
		return c.usageError(errors.New("--vault-addr (or VAULT_ADDR) is required"))
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, "https://") {
			return c.usageError(fmt.Errorf("--bbs-admin-url %q must be https:// (the admin API needs a client certificate)", u))
		}
	}
	vault, err := keysource.NewVault(v)
	if err != nil {
		return c.usageError(err)
	}
	hc, err := rotate.AdminHTTPClient(caCert, adminCert, adminKey, 0)
	if err != nil {
		return err
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

func envDefault(p *string, name string) {
	if *p == "" {
		*p = os.Getenv(name)
	}
}
