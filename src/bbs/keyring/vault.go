package keyring

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// VaultConfig locates the key ring secret and says how to authenticate.
// Exactly one of Token, TokenFile and AppRole.RoleID is set.
type VaultConfig struct {
	Address    string
	Mount      string // the KV v2 mount, e.g. "secret"
	Path       string // the secret's path under the mount, e.g. "diego/bbs/encryption"
	Token      string
	TokenFile  string // re-read on every request, so a rotated token is picked up
	AppRole    AppRole
	CACertFile string // PEM CA bundle that signed Vault's certificate (https addresses)
	Timeout    time.Duration
	// MaxRetries is how often the client retries a failed request (0: the
	// client's default, 2; negative: never).
	MaxRetries int
}

// AppRole is Vault AppRole login (auth/<Mount>/login).
type AppRole struct {
	RoleID       string
	SecretID     string
	SecretIDFile string
	Mount        string // default "approle"
}

// Errors a caller may test for.
var (
	// ErrNotFound: there is no secret at the path (or its current version is deleted).
	ErrNotFound = errors.New("vault: no key ring secret at the path")
	// ErrCASMismatch: the secret changed since it was read.
	ErrCASMismatch = errors.New("vault: the key ring secret changed since it was read (check-and-set mismatch)")
)

// Vault reads and writes the key ring document.
type Vault struct {
	cfg    VaultConfig
	client *vault.Client

	mu       sync.Mutex
	appToken string // AppRole login token, guarded by mu
}

// NewVault builds a client. It does not contact Vault.
func NewVault(cfg VaultConfig) (*Vault, error) {
	if cfg.Address == "" {
		return nil, errors.New("vault: address is required")
	}
	if cfg.Mount == "" {
		cfg.Mount = "secret"
	}
	if cfg.Path == "" {
		return nil, errors.New("vault: the key ring secret's path is required")
	}
	if cfg.AppRole.Mount == "" {
		cfg.AppRole.Mount = "approle"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	n := 0
	for _, set := range []bool{cfg.Token != "", cfg.TokenFile != "", cfg.AppRole.RoleID != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("vault: set exactly one of token, token_file and approle.role_id")
	}
	vc := vault.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault client: %w", vc.Error)
	}
	vc.Address = cfg.Address
	vc.Timeout = cfg.Timeout
	switch {
	case cfg.MaxRetries < 0:
		vc.MaxRetries = 0
	case cfg.MaxRetries > 0:
		vc.MaxRetries = cfg.MaxRetries
	}
	if cfg.CACertFile != "" {
		if _, err := os.Stat(cfg.CACertFile); err != nil {
			return nil, fmt.Errorf("vault ca_cert_file: %w", err)
		}
		if err := vc.ConfigureTLS(&vault.TLSConfig{CACert: cfg.CACertFile}); err != nil {
			return nil, fmt.Errorf("vault ca_cert_file %s: %w", cfg.CACertFile, err)
		}
	}
	c, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	c.ClearToken() // never pick up VAULT_TOKEN from the environment
	return &Vault{cfg: cfg, client: c}, nil
}

// Where names the secret for messages: "<address> <mount>/data/<path>".
func (v *Vault) Where() string {
	return fmt.Sprintf("vault %s %s/data/%s", v.cfg.Address, v.cfg.Mount, v.cfg.Path)
}

// Read returns the current document and its KV v2 version.
func (v *Vault) Read(ctx context.Context) (Doc, int, error) {
	var s *vault.KVSecret
	err := v.do(ctx, func(c *vault.Client) error {
		var err error
		s, err = c.KVv2(v.cfg.Mount).Get(ctx, v.cfg.Path)
		return err
	})
	if err != nil {
		if errors.Is(err, vault.ErrSecretNotFound) {
			return Doc{}, 0, fmt.Errorf("%s: %w", v.Where(), ErrNotFound)
		}
		return Doc{}, 0, v.explain("reading", v.DataPath(), "read", err)
	}
	version := 0
	if s.VersionMetadata != nil {
		version = s.VersionMetadata.Version
	}
	if s.Data == nil {
		return Doc{}, version, fmt.Errorf("%s: %w (version %d is deleted)", v.Where(), ErrNotFound, version)
	}
	d, err := docFromData(s.Data)
	if err != nil {
		return Doc{}, version, fmt.Errorf("%s version %d is not a usable key ring: %w", v.Where(), version, err)
	}
	return d, version, nil
}

// Write stores doc as a new version if the current version is still cas
// (0: only if the secret does not exist yet), returning the new version.
func (v *Vault) Write(ctx context.Context, doc Doc, cas int) (int, error) {
	if err := doc.Validate(); err != nil {
		return 0, fmt.Errorf("refusing to write an unusable key ring to %s: %w", v.Where(), err)
	}
	var s *vault.KVSecret
	err := v.do(ctx, func(c *vault.Client) error {
		var err error
		s, err = c.KVv2(v.cfg.Mount).Put(ctx, v.cfg.Path, doc.toData(), vault.WithCheckAndSet(cas))
		return err
	})
	if err != nil {
		var re *vault.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest && strings.Contains(strings.Join(re.Errors, " "), "check-and-set") {
			return 0, fmt.Errorf("%s: %w (expected version %d)", v.Where(), ErrCASMismatch, cas)
		}
		capability := "update"
		if cas == 0 {
			capability = "create, or update if the secret exists" // a first write
		}
		return 0, v.explain("writing", v.DataPath(), capability, err)
	}
	if s == nil || s.VersionMetadata == nil {
		return 0, fmt.Errorf("%s: the write answered no version", v.Where())
	}
	return s.VersionMetadata.Version, nil
}

// Load reads the key ring (label -> passphrase, active label); it is the
// BBS's rotation.Loader for a Vault key source.
func (v *Vault) Load(ctx context.Context) (map[string]string, string, error) {
	d, _, err := v.Read(ctx)
	if err != nil {
		return nil, "", err
	}
	return d.Keys, d.ActiveKeyLabel, nil
}

// do runs fn with a client carrying the current token; an AppRole token
// that Vault rejects is renewed by logging in again, once.
func (v *Vault) do(ctx context.Context, fn func(c *vault.Client) error) error {
	for attempt := 0; ; attempt++ {
		token, err := v.token(ctx)
		if err != nil {
			return err
		}
		c := v.client.WithNamespace("") // a shallow copy, so concurrent callers don't share the token
		c.SetToken(token)
		err = fn(c)
		var re *vault.ResponseError
		if attempt == 0 && v.cfg.AppRole.RoleID != "" && errors.As(err, &re) && re.StatusCode == http.StatusForbidden {
			v.mu.Lock()
			v.appToken = ""
			v.mu.Unlock()
			continue
		}
		return err
	}
}

func (v *Vault) token(ctx context.Context) (string, error) {
	switch {
	case v.cfg.Token != "":
		return v.cfg.Token, nil
	case v.cfg.TokenFile != "":
		b, err := os.ReadFile(v.cfg.TokenFile)
		if err != nil {
			return "", fmt.Errorf("vault token_file: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("vault token_file %s is empty", v.cfg.TokenFile)
		}
		return t, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.appToken != "" {
		return v.appToken, nil
	}
	secretID := v.cfg.AppRole.SecretID
	if v.cfg.AppRole.SecretIDFile != "" {
		b, err := os.ReadFile(v.cfg.AppRole.SecretIDFile)
		if err != nil {
			return "", fmt.Errorf("vault approle secret_id_file: %w", err)
		}
		secretID = strings.TrimSpace(string(b))
	}
	c := v.client.WithNamespace("")
	c.ClearToken()
	s, err := c.Logical().WriteWithContext(ctx, "auth/"+v.cfg.AppRole.Mount+"/login",
		map[string]any{"role_id": v.cfg.AppRole.RoleID, "secret_id": secretID})
	if err != nil {
		return "", v.explain("AppRole login to", "auth/"+v.cfg.AppRole.Mount+"/login", "", err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return "", fmt.Errorf("%s: AppRole login answered no client token", v.Where())
	}
	v.appToken = s.Auth.ClientToken
	return v.appToken, nil
}
