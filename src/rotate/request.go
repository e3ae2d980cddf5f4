package rotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
)

// Request is one `diego rotate-encryption-key` invocation as its flags give
// it: with Vault set the key ring is in Vault (Run); with
// Manifest.Deployment and Manifest.Manifest it is in the BOSH manifest
// (RunManifest: two deploys, each verified).
type Request struct {
	BBSAdminURLs                []string
	AdminCert, AdminKey, CACert string
	Vault                       keyring.VaultConfig
	// VaultFlags are the --vault-* flags given (manifest mode refuses them).
	VaultFlags []string
	Manifest   ManifestConfig
	// Timeout bounds the run (default 30m with Vault, 3h with the manifest).
	Timeout  string
	NewLabel string
	// Progress receives progress lines (stderr in the CLI); nil discards.
	Progress io.Writer
}

// UsageError: the request is incomplete or contradictory; nothing ran.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usage(err error) error { return &UsageError{Err: err} }

// ManifestMode: a manifest-mode flag is given.
func (r Request) ManifestMode() bool {
	m := r.Manifest
	return m.Deployment != "" || m.Manifest != "" || len(m.OpsFiles) > 0 || len(m.VarsFiles) > 0 || len(m.Vars) > 0 ||
		m.BoshCLI != "" || m.OpsDir != "" || m.DryRun
}

// Defaults fills what the flags left empty: Vault's address, CA and token
// from VAULT_ADDR, VAULT_CACERT and VAULT_TOKEN (Vault mode only), the BBS
// from bbsURL (else BBS_URL) and its CA from bbsCA (else BBS_CA_CERT_FILE).
func (r *Request) Defaults(getenv func(string) string, bbsURL, bbsCA string) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	if !r.ManifestMode() {
		def(&r.Vault.Address, getenv("VAULT_ADDR"))
		def(&r.Vault.CACertFile, getenv("VAULT_CACERT"))
		if r.Vault.TokenFile == "" && r.Vault.AppRole.RoleID == "" {
			def(&r.Vault.Token, getenv("VAULT_TOKEN"))
		}
	}
	if len(r.BBSAdminURLs) == 0 {
		def(&bbsURL, getenv("BBS_URL"))
		if bbsURL != "" {
			r.BBSAdminURLs = []string{bbsURL}
		}
	}
	def(&bbsCA, getenv("BBS_CA_CERT_FILE"))
	def(&r.CACert, bbsCA)
}

// check validates the request (a *UsageError) and returns its timeout.
func (r Request) check() (time.Duration, error) {
	manifest := r.ManifestMode()
	timeout := r.Timeout
	if manifest {
		if len(r.VaultFlags) > 0 {
			return 0, usage(fmt.Errorf("%s: the key ring is either in Vault (--vault-addr) or in the manifest (--deployment, --manifest): not both", strings.Join(r.VaultFlags, ", ")))
		}
		if r.Manifest.Deployment == "" || r.Manifest.Manifest == "" {
			return 0, usage(errors.New("manifest mode needs --deployment and --manifest (plus the deployment's usual --ops-file, -l and -v)"))
		}
		if timeout == "" {
			timeout = "3h"
		}
	} else if timeout == "" {
		timeout = "30m"
	}
	d, err := time.ParseDuration(timeout)
	switch {
	case err != nil || d <= 0:
		return 0, usage(fmt.Errorf("--timeout %q must be a positive duration such as 30m", timeout))
	case len(r.BBSAdminURLs) == 0:
		return 0, usage(errors.New("--bbs-admin-url is required (repeat it for every BBS)"))
	case r.AdminCert == "" || r.AdminKey == "" || r.CACert == "":
		return 0, usage(errors.New("--admin-cert, --admin-key and --ca-cert are required"))
	case !manifest && r.Vault.Address == "":
		return 0, usage(errors.New("--vault-addr (or VAULT_ADDR) is required, or give --deployment and --manifest for keys in the manifest"))
	}
	for _, u := range r.BBSAdminURLs {
		if !strings.HasPrefix(u, "https://") {
			return 0, usage(fmt.Errorf("--bbs-admin-url %q must be https:// (the admin API needs a client certificate)", u))
		}
	}
	if r.NewLabel != "" && manifest {
		if err := CheckManifestLabel(r.NewLabel); err != nil {
			return 0, usage(fmt.Errorf("--new-key-label: %w", err))
		}
	}
	return d, nil
}

// Summary is what a run reports: a Result or a ManifestResult.
type Summary interface{ Table() string }

// Execute checks the request (errors are *UsageError until then), runs the
// rotation in its mode, and returns its summary.
func Execute(ctx context.Context, r Request) (Summary, error) {
	d, err := r.check()
	if err != nil {
		return nil, err
	}
	var vault *keyring.Vault
	if !r.ManifestMode() {
		if vault, err = keyring.NewVault(r.Vault); err != nil {
			return nil, usage(err)
		}
	}
	hc, err := AdminHTTPClient(r.CACert, r.AdminCert, r.AdminKey, 0)
	if err != nil {
		return nil, fmt.Errorf("rotate-encryption-key: %w: nothing changed", err)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if r.ManifestMode() {
		m := r.Manifest
		m.NewLabel, m.BBSAdminURLs, m.HTTPClient, m.Progress = r.NewLabel, r.BBSAdminURLs, hc, r.Progress
		res, err := RunManifest(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("rotate-encryption-key: %w", err)
		}
		return res, nil
	}
	cfg := Config{Vault: vault, BBSAdminURLs: r.BBSAdminURLs, HTTPClient: hc, Progress: r.Progress}
	if r.NewLabel != "" {
		label := r.NewLabel
		cfg.NewLabel = func() string { return label }
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("rotate-encryption-key: %w", err)
	}
	return res, nil
}

// Table is the human-readable summary.
func (res Result) Table() string {
	history := "none to destroy"
	if res.DestroyedThrough > 0 {
		history = fmt.Sprintf("versions 1-%d destroyed", res.DestroyedThrough)
	}
	return fmt.Sprintf("active key:      %s\nremoved keys:    %s\nrows re-encrypted: %d in %s\nresumed:         %v\nvault version:   %d\nvault history:   %s\nBBSs reloaded:   %s\n",
		res.ActiveLabel, strings.Join(res.RemovedLabels, ", "), res.RowsReencrypted, res.Reencryption.Round(time.Millisecond),
		res.Resumed, res.VaultVersion, history, strings.Join(res.BBSReached, ", "))
}

// Table is the human-readable summary.
func (res ManifestResult) Table() string {
	return fmt.Sprintf("deployment:      %s\nactive key:      %s\nold keys:        %s (unused; drop with %s)\nkey ops-file:    %s\ndeploys run:     %d\nrows re-encrypted: %d in %s\nresumed:         %v\ndry run:         %v\n",
		res.Deployment, res.ActiveLabel, strings.Join(res.OldLabels, ", "), res.DropOpsFile, res.KeyOpsFile, len(res.Deployed),
		res.RowsReencrypted, res.Reencryption.Round(time.Millisecond), res.Resumed, res.DryRun)
}
