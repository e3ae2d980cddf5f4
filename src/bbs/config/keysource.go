package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
)

// Key source types.
const (
	KeySourceConfig = "config"
	KeySourceVault  = "vault"
)

// KeySource is encryption_key_source.
type KeySource struct {
	Type  string         `json:"type"`
	Vault VaultKeySource `json:"vault"`
}

// VaultKeySource is encryption_key_source.vault: one KV v2 secret holding
// {"active_key_label": ..., "keys": {label: passphrase}}.
type VaultKeySource struct {
	Address    string       `json:"address"`
	Mount      string       `json:"mount"`
	Path       string       `json:"path"`
	Token      string       `json:"token"`
	TokenFile  string       `json:"token_file"`
	AppRole    VaultAppRole `json:"approle"`
	CACertFile string       `json:"ca_cert_file"`
	Timeout    Duration     `json:"timeout"`
}

// VaultAppRole is AppRole login.
type VaultAppRole struct {
	RoleID       string `json:"role_id"`
	SecretID     string `json:"secret_id"`
	SecretIDFile string `json:"secret_id_file"`
	Mount        string `json:"mount"`
}

// KeyringConfig is the Vault client configuration keyring.NewVault takes.
func (v VaultKeySource) KeyringConfig() keyring.VaultConfig {
	return keyring.VaultConfig{
		Address: v.Address, Mount: v.Mount, Path: v.Path, Token: v.Token, TokenFile: v.TokenFile,
		AppRole: keyring.AppRole{RoleID: v.AppRole.RoleID, SecretID: v.AppRole.SecretID,
			SecretIDFile: v.AppRole.SecretIDFile, Mount: v.AppRole.Mount},
		CACertFile: v.CACertFile, Timeout: time.Duration(v.Timeout),
	}
}

func (c Config) validateKeySource() error {
	switch c.EncryptionKeySource.Type {
	case KeySourceConfig, "":
		return c.validateKeys()
	case KeySourceVault:
	default:
		return fmt.Errorf("encryption_key_source.type %q is not supported; use %q or %q", c.EncryptionKeySource.Type, KeySourceConfig, KeySourceVault)
	}
	var errs []error
	if len(c.EncryptionKeys) > 0 || c.ActiveKeyLabel != "" {
		errs = append(errs, errors.New("encryption_keys and active_key_label must be empty when encryption_key_source.type is vault (the key ring is read from Vault)"))
	}
	v := c.EncryptionKeySource.Vault
	if u, err := url.Parse(v.Address); v.Address == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("encryption_key_source.vault.address %q must be an http(s) URL, e.g. https://vault.service.internal:8200", v.Address))
	}
	if v.Mount == "" || v.Path == "" {
		errs = append(errs, errors.New("encryption_key_source.vault.mount and .path must name the KV v2 secret holding the key ring"))
	}
	n := 0
	for _, set := range []bool{v.Token != "", v.TokenFile != "", v.AppRole.RoleID != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		errs = append(errs, errors.New("encryption_key_source.vault: set exactly one of token, token_file and approle.role_id"))
	}
	if v.AppRole.RoleID != "" && (v.AppRole.SecretID == "") == (v.AppRole.SecretIDFile == "") {
		errs = append(errs, errors.New("encryption_key_source.vault.approle: set exactly one of secret_id and secret_id_file"))
	}
	for name, path := range map[string]string{"token_file": v.TokenFile, "approle.secret_id_file": v.AppRole.SecretIDFile, "ca_cert_file": v.CACertFile} {
		if path != "" {
			if _, err := os.Stat(path); err != nil {
				errs = append(errs, fmt.Errorf("encryption_key_source.vault.%s: %w", name, err))
			}
		}
	}
	if v.Timeout < Duration(100*time.Millisecond) {
		errs = append(errs, errors.New("encryption_key_source.vault.timeout must be at least 100ms"))
	}
	return errors.Join(errs...)
}
