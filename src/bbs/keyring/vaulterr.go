package keyring

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	vault "github.com/hashicorp/vault/api"
)

// VaultError is a failed Vault request, on one line: the client's own
// error text spans several lines, and a policy denial from a real server
// ("1 error occurred:\n\t* permission denied\n\n") more.
type VaultError struct {
	// Op is what was being done: "reading", "writing", "destroying old versions of", "AppRole login to".
	Op string
	// Path is the ACL path of the request, e.g. secret/data/diego/bbs/encryption.
	Path string
	// Capability is what the request needs on Path (read, create, update), "" for a login.
	Capability string
	Address    string
	Status     int    // the HTTP status, 0 without an answer
	Msg        string // Vault's errors, one line
	Err        error
}

func (e *VaultError) Error() string {
	switch {
	case e.Status == http.StatusForbidden && e.Capability != "":
		return fmt.Sprintf("vault: permission denied on %s at %s (needs %s): check the token or AppRole and its policy",
			e.Path, e.Address, e.Capability)
	case e.Status == http.StatusForbidden:
		return fmt.Sprintf("vault: permission denied on %s at %s: check the token or AppRole credentials", e.Path, e.Address)
	case e.Status == http.StatusServiceUnavailable:
		return fmt.Sprintf("vault: %s %s at %s: Vault is unavailable or sealed (HTTP 503: %s)", e.Op, e.Path, e.Address, e.Msg)
	case e.Status != 0:
		return fmt.Sprintf("vault: %s %s at %s: HTTP %d: %s", e.Op, e.Path, e.Address, e.Status, e.Msg)
	}
	return fmt.Sprintf("vault: %s %s at %s: %s", e.Op, e.Path, e.Address, e.Msg)
}

func (e *VaultError) Unwrap() error { return e.Err }

// Denied: Vault refused the request (HTTP 403).
func (e *VaultError) Denied() bool { return e.Status == http.StatusForbidden }

// IsDenied: err is a Vault permission denial.
func IsDenied(err error) bool {
	var ve *VaultError
	return errors.As(err, &ve) && ve.Denied()
}

// oneLine collapses Vault's error texts: multierror framing ("1 error
// occurred:", "\t* ") and line breaks go, the messages are joined by "; ".
func oneLine(msgs ...string) string {
	var parts []string
	for _, m := range msgs {
		for _, l := range strings.Split(m, "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "* "))
			if l == "" || strings.HasSuffix(l, "occurred:") || l == "Error making API request." {
				continue
			}
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// explain turns a client error into a *VaultError for op on path, which
// needs capability.
func (v *Vault) explain(op, path, capability string, err error) error {
	e := &VaultError{Op: op, Path: path, Capability: capability, Address: v.cfg.Address, Err: err}
	var re *vault.ResponseError
	if errors.As(err, &re) {
		e.Status, e.Msg = re.StatusCode, oneLine(re.Errors...)
	} else {
		e.Msg = oneLine(err.Error())
	}
	return e
}

// DataPath is the ACL path of the key ring's data: <mount>/data/<path>.
func (v *Vault) DataPath() string { return v.cfg.Mount + "/data/" + v.cfg.Path }

// DestroyPath is the ACL path that destroys its versions: <mount>/destroy/<path>.
func (v *Vault) DestroyPath() string { return v.cfg.Mount + "/destroy/" + v.cfg.Path }

// Destroy permanently removes the data of the given versions of the key
// ring secret (KV v2 destroy; needs "update" on DestroyPath). Versions that
// do not exist or are destroyed already are skipped by Vault.
func (v *Vault) Destroy(ctx context.Context, versions []int) error {
	if len(versions) == 0 {
		return nil
	}
	err := v.do(ctx, func(c *vault.Client) error {
		return c.KVv2(v.cfg.Mount).Destroy(ctx, v.cfg.Path, versions)
	})
	if err != nil {
		return v.explain("destroying old versions of", v.DestroyPath(), "update", err)
	}
	return nil
}

// Capabilities asks Vault which capabilities the token has on each path
// (POST sys/capabilities-self, which Vault's default policy allows every
// token).
func (v *Vault) Capabilities(ctx context.Context, paths ...string) (map[string][]string, error) {
	out := map[string][]string{}
	err := v.do(ctx, func(c *vault.Client) error {
		s, err := c.Logical().WriteWithContext(ctx, "sys/capabilities-self", map[string]any{"paths": paths})
		if err != nil {
			return err
		}
		if s == nil {
			return errors.New("sys/capabilities-self answered nothing")
		}
		for _, p := range paths {
			raw, _ := s.Data[p].([]any)
			caps := []string{}
			for _, c := range raw {
				if str, ok := c.(string); ok {
					caps = append(caps, str)
				}
			}
			out[p] = caps
		}
		return nil
	})
	if err != nil {
		return nil, v.explain("asking capabilities on", strings.Join(paths, ", "), "", err)
	}
	return out, nil
}
