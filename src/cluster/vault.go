package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	bbsconfig "github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/keyring"
)

// VaultOptions have the BBS read its key ring from Vault (KV v2), as a
// production BBS with encryption_key_source vault does, instead of from its
// config file.
type VaultOptions struct {
	// Address is Vault's http(s) URL; empty keeps the key in the BBS config.
	Address string
	// Token, or RoleID and SecretID (AppRole login at auth/approle).
	Token, RoleID, SecretID string
	// Mount and KeyPath locate the secret (default secret, diego/bbs/encryption).
	Mount, KeyPath string
	// CACertFile is the CA of Vault's certificate (https addresses).
	CACertFile string
}

// Enabled: the BBS reads its keys from Vault.
func (v VaultOptions) Enabled() bool { return v.Address != "" }

func (v VaultOptions) withDefaults() VaultOptions {
	if v.Mount == "" {
		v.Mount = "secret"
	}
	if v.KeyPath == "" {
		v.KeyPath = "diego/bbs/encryption"
	}
	return v
}

// validate reports every invalid Vault option.
func (v VaultOptions) validate() []error {
	if !v.Enabled() {
		if v.Token != "" || v.RoleID != "" || v.SecretID != "" || v.KeyPath != "" || v.Mount != "" || v.CACertFile != "" {
			return []error{errors.New("--vault-token, --vault-role-id, --vault-secret-id, --vault-mount, --vault-key-path and --vault-ca-cert need --vault-addr")}
		}
		return nil
	}
	var errs []error
	if u, err := url.Parse(v.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--vault-addr %q: want http(s)://host:port", v.Address))
	}
	if (v.Token == "") == (v.RoleID == "") {
		errs = append(errs, errors.New("--vault-addr: give --vault-token, or --vault-role-id with --vault-secret-id (AppRole), not both"))
	}
	if v.RoleID != "" && v.SecretID == "" {
		errs = append(errs, errors.New("--vault-role-id needs --vault-secret-id"))
	}
	if v.CACertFile != "" {
		if _, err := os.Stat(v.CACertFile); err != nil {
			errs = append(errs, fmt.Errorf("--vault-ca-cert: %w", err))
		}
	}
	return errs
}

// vaultSecretFile is where the token or AppRole secret_id is kept for the
// BBS (token_file or secret_id_file: not in its JSON config).
func (l layout) vaultSecretFile() string { return filepath.Join(l.dir, "config", "vault-credential") }

// keyringConfig is the Vault client configuration of the cluster's BBS.
func (l layout) keyringConfig() keyring.VaultConfig {
	v := l.opts.Vault.withDefaults()
	cfg := keyring.VaultConfig{Address: v.Address, Mount: v.Mount, Path: v.KeyPath, CACertFile: v.CACertFile, Timeout: 10 * time.Second}
	if v.RoleID != "" {
		cfg.AppRole = keyring.AppRole{RoleID: v.RoleID, SecretIDFile: l.vaultSecretFile()}
	} else {
		cfg.TokenFile = l.vaultSecretFile()
	}
	return cfg
}

// vaultKeySource points the BBS config at Vault instead of the key in it.
func (l layout) vaultKeySource(c *bbsconfig.Config) {
	if !l.opts.Vault.Enabled() {
		return
	}
	k := l.keyringConfig()
	c.EncryptionKeys, c.ActiveKeyLabel = nil, ""
	c.EncryptionKeySource = bbsconfig.KeySource{Type: bbsconfig.KeySourceVault, Vault: bbsconfig.VaultKeySource{
		Address: k.Address, Mount: k.Mount, Path: k.Path, TokenFile: k.TokenFile, CACertFile: k.CACertFile,
		AppRole: bbsconfig.VaultAppRole{RoleID: k.AppRole.RoleID, SecretIDFile: k.AppRole.SecretIDFile},
		Timeout: bbsconfig.Duration(k.Timeout)}}
}

// seedVault makes sure the key ring secret exists before the BBS reads it:
// it writes the credential file the BBS reads, then, if Vault has no key
// ring at the path, writes one holding the cluster's own key (label
// "local", the key in DIR/encryption-key, so a cluster that ran without
// Vault keeps reading its rows). An existing key ring is left as it is:
// the BBS reads whatever it holds (after a rotation, the rotated keys).
// Seeding needs create on <mount>/data/<path>; reading, only read.
func (c *Cluster) seedVault(ctx context.Context) error {
	l := &c.l
	if !l.opts.Vault.Enabled() {
		return nil
	}
	cred := l.opts.Vault.Token
	if l.opts.Vault.RoleID != "" {
		cred = l.opts.Vault.SecretID
	}
	if err := os.WriteFile(l.vaultSecretFile(), []byte(cred+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the Vault credential for the BBS: %w", err)
	}
	v, err := keyring.NewVault(l.keyringConfig())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	doc, version, err := v.Read(ctx)
	switch {
	case err == nil:
		c.progress("the BBS reads its keys from %s (version %d: keys %v, active %q)", v.Where(), version, doc.Labels(), doc.ActiveKeyLabel)
		return nil
	case !errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("--vault-addr: %w", err)
	}
	seed := keyring.Doc{ActiveKeyLabel: "local", Keys: map[string]string{"local": l.key}}
	if version, err = v.Write(ctx, seed, version); err != nil {
		return fmt.Errorf("--vault-addr: no key ring at %s, and seeding it failed (seed it yourself, or give a token with create on %s): %w",
			v.Where(), v.DataPath(), err)
	}
	c.progress("seeded %s with the cluster's key (label \"local\", version %d); the BBS reads its keys from there", v.Where(), version)
	return nil
}
