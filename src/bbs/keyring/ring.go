// Package keyring is the one home of the BBS's encryption keys: the labelled
// AES-256-GCM key ring that seals payload columns, and the sources it is
// loaded from (the config file, or one KV v2 secret in Vault that the
// rotation tool, src/rotate, writes with check-and-set).
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// formatV1 is the first byte of every sealed record:
// 0x01 | len(label) | label | 12-byte nonce | ciphertext+tag.
const formatV1 byte = 0x01

const (
	nonceSize      = 12
	maxLabelLength = 127
)

var (
	// ErrUnknownLabel: the record names a key the ring does not hold.
	ErrUnknownLabel = errors.New("encryption: record sealed with a key label that is not configured")
	// ErrMalformed: the bytes are not a sealed record.
	ErrMalformed = errors.New("encryption: malformed sealed record")
)

// Key is one labelled AES-256-GCM key.
type Key struct {
	Label string
	aead  cipher.AEAD
}

// NewKey derives a 256-bit key from passphrase (SHA-256, as the reference does,
// so operators' existing passphrases keep their strength) under label.
func NewKey(label, passphrase string) (*Key, error) {
	if err := ValidateLabel(label); err != nil {
		return nil, err
	}
	if passphrase == "" {
		return nil, fmt.Errorf("encryption key %q: passphrase is empty", label)
	}
	sum := sha256.Sum256([]byte(passphrase))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, fmt.Errorf("encryption key %q: %w", label, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("encryption key %q: %w", label, err)
	}
	return &Key{Label: label, aead: aead}, nil
}

// ValidateLabel checks the reference's label rules: 1..127 bytes, no ':'.
func ValidateLabel(label string) error {
	switch {
	case label == "":
		return errors.New("encryption key label is empty")
	case len(label) > maxLabelLength:
		return fmt.Errorf("encryption key label %q is longer than %d bytes", label, maxLabelLength)
	case strings.Contains(label, ":"):
		return fmt.Errorf("encryption key label %q must not contain ':'", label)
	}
	return nil
}

// Ring holds the configured keys and which one seals new records. It can be
// replaced atomically at run time (key rotation without a restart).
type Ring struct {
	mu     sync.RWMutex
	keys   map[string]*Key // guarded by mu
	active *Key            // guarded by mu
}

// NewRing builds a ring from label -> passphrase and the active label.
func NewRing(keys map[string]string, activeLabel string) (*Ring, error) {
	r := &Ring{}
	if err := r.Replace(keys, activeLabel); err != nil {
		return nil, err
	}
	return r, nil
}

// Replace swaps in a new set of keys. On error the ring is unchanged.
func (r *Ring) Replace(keys map[string]string, activeLabel string) error {
	if len(keys) == 0 {
		return errors.New("encryption: no encryption keys configured")
	}
	built := make(map[string]*Key, len(keys))
	for label, pass := range keys {
		k, err := NewKey(label, pass)
		if err != nil {
			return err
		}
		built[label] = k
	}
	active, ok := built[activeLabel]
	if !ok {
		return fmt.Errorf("encryption: active key label %q is not among the configured keys %v", activeLabel, sortedLabels(built))
	}
	r.mu.Lock()
	r.keys, r.active = built, active
	r.mu.Unlock()
	return nil
}

// ActiveLabel is the label new records are sealed with.
func (r *Ring) ActiveLabel() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.active.Label
}

// Labels lists the configured labels, sorted.
func (r *Ring) Labels() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return sortedLabels(r.keys)
}

// Has reports whether label is configured.
func (r *Ring) Has(label string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.keys[label]
	return ok
}

// Seal encrypts plaintext under the active key, binding it to aad (the
// column it is stored in), and returns the record and the label used.
func (r *Ring) Seal(aad, plaintext []byte) ([]byte, string, error) {
	r.mu.RLock()
	k := r.active
	r.mu.RUnlock()
	return k.Seal(aad, plaintext)
}

// Seal encrypts plaintext under this key.
func (k *Key) Seal(aad, plaintext []byte) ([]byte, string, error) {
	l := len(k.Label)
	out := make([]byte, 2+l+nonceSize, 2+l+nonceSize+len(plaintext)+k.aead.Overhead())
	out[0] = formatV1
	out[1] = byte(l)
	copy(out[2:], k.Label)
	nonce := out[2+l : 2+l+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("encryption: reading nonce: %w", err)
	}
	return k.aead.Seal(out, nonce, plaintext, aad), k.Label, nil
}

// Label returns the key label a sealed record names, without opening it.
func Label(sealed []byte) (string, error) {
	if len(sealed) < 2 || sealed[0] != formatV1 {
		return "", ErrMalformed
	}
	l := int(sealed[1])
	if len(sealed) < 2+l+nonceSize {
		return "", ErrMalformed
	}
	return string(sealed[2 : 2+l]), nil
}

// Open decrypts a sealed record with the key its label names.
func (r *Ring) Open(aad, sealed []byte) ([]byte, error) {
	return r.OpenTo(nil, aad, sealed)
}

// OpenTo is Open appending the plaintext to dst, so a caller decrypting many
// records can reuse one buffer. It allocates nothing when dst has room.
func (r *Ring) OpenTo(dst, aad, sealed []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != formatV1 {
		return nil, ErrMalformed
	}
	l := int(sealed[1])
	if len(sealed) < 2+l+nonceSize {
		return nil, ErrMalformed
	}
	label := sealed[2 : 2+l]
	r.mu.RLock()
	k, ok := r.keys[string(label)] // no allocation: the compiler special-cases map[string(bytes)]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownLabel, label)
	}
	plain, err := k.aead.Open(dst, sealed[2+l:2+l+nonceSize], sealed[2+l+nonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("encryption: opening record under key %q: %w", label, err)
	}
	return plain, nil
}

func sortedLabels(m map[string]*Key) []string {
	out := make([]string, 0, len(m))
	for l := range m {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}
