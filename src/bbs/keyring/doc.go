package keyring

// The key ring's sources: the BBS config file, or one KV v2 secret in Vault
// (read and written through github.com/hashicorp/vault/api).

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Loader returns the key ring as configured now (label -> passphrase, active).
type Loader func(ctx context.Context) (keys map[string]string, active string, err error)

// Static is a Loader always returning keys and active.
func Static(keys map[string]string, active string) Loader {
	return func(context.Context) (map[string]string, string, error) { return keys, active, nil }
}

// Load reads the ring from its source and builds it.
func (l Loader) Load(ctx context.Context) (*Ring, error) {
	keys, active, err := l(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the encryption key ring: %w", err)
	}
	return NewRing(keys, active)
}

// Doc is the key ring document kept in Vault (one KV v2 secret):
//
//	{"active_key_label": "k2", "keys": {"k1": "<passphrase>", "k2": "<passphrase>"},
//	 "rotating_to": "k2"}
//
// rotating_to is set by the rotation tool while a rotation is unfinished
// (the BBS ignores it); it lets a re-run resume instead of starting over.
type Doc struct {
	ActiveKeyLabel string            `json:"active_key_label"`
	Keys           map[string]string `json:"keys"`
	RotatingTo     string            `json:"rotating_to,omitempty"`
}

// Validate checks that the document is a usable key ring.
func (d Doc) Validate() error {
	if len(d.Keys) == 0 {
		return errors.New("the document has no keys")
	}
	for label, pass := range d.Keys {
		if err := ValidateLabel(label); err != nil {
			return err
		}
		if pass == "" {
			return fmt.Errorf("key %q has an empty passphrase", label)
		}
	}
	if _, ok := d.Keys[d.ActiveKeyLabel]; !ok {
		return fmt.Errorf("active_key_label %q is not among the keys %v", d.ActiveKeyLabel, d.Labels())
	}
	if d.RotatingTo != "" {
		if _, ok := d.Keys[d.RotatingTo]; !ok {
			return fmt.Errorf("rotating_to %q is not among the keys %v", d.RotatingTo, d.Labels())
		}
	}
	return nil
}

// Labels lists the document's key labels, sorted.
func (d Doc) Labels() []string {
	out := make([]string, 0, len(d.Keys))
	for l := range d.Keys {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Clone returns a deep copy.
func (d Doc) Clone() Doc {
	c := d
	c.Keys = make(map[string]string, len(d.Keys))
	for k, v := range d.Keys {
		c.Keys[k] = v
	}
	return c
}

func (d Doc) toData() map[string]any {
	keys := make(map[string]any, len(d.Keys))
	for k, v := range d.Keys {
		keys[k] = v
	}
	m := map[string]any{"active_key_label": d.ActiveKeyLabel, "keys": keys}
	if d.RotatingTo != "" {
		m["rotating_to"] = d.RotatingTo
	}
	return m
}

func docFromData(data map[string]any) (Doc, error) {
	var d Doc
	if data == nil {
		return d, errors.New("the secret's current version is deleted")
	}
	var ok bool
	if d.ActiveKeyLabel, ok = data["active_key_label"].(string); !ok {
		return d, errors.New(`the secret has no string "active_key_label"`)
	}
	if v, present := data["rotating_to"]; present && v != nil {
		if d.RotatingTo, ok = v.(string); !ok {
			return d, errors.New(`"rotating_to" is not a string`)
		}
	}
	keys, ok := data["keys"].(map[string]any)
	if !ok {
		return d, errors.New(`the secret has no object "keys" (label -> passphrase)`)
	}
	d.Keys = make(map[string]string, len(keys))
	for l, v := range keys {
		s, ok := v.(string)
		if !ok {
			return d, fmt.Errorf("keys.%s is not a string", l)
		}
		d.Keys[l] = s
	}
	return d, d.Validate()
}
